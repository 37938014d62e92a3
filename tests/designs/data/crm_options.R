# Freezes dfcrm references for the CRM options method="mle", the two-stage start (x0), intcpt and conf.level
# as crm_options.json (tests/designs/test_crm_options.py).
# Run: Rscript crm_options.R <dfcrm.R> <uniforms.csv> > crm_options.json
# where dfcrm.R is R/dfcrm.R of github.com/cran/dfcrm commit 18891ccb969e3e4f87e4489a04b48df227bb9273
# (dfcrm 0.2-2.1), sourced unchanged, R 4.2.2, and uniforms.csv is crn_uniforms.npz's "u" written as CSV
# (numpy.savetxt(..., delimiter=",", fmt="%.17g")).  rbinom() is masked so that patient i of trial t has a
# DLT at dose d iff U[t, i] < PI[d] (onetrial() is called once per trial).
args <- commandArgs(trailingOnly = TRUE)
source(args[1])
U <- as.matrix(read.csv(args[2], header = FALSE))
.trial <- 1; .k <- 0
rbinom <- function(n, size, prob) { v <- U[.trial, (.k + 1):(.k + n)] < prob; .k <<- .k + n; as.integer(v) }
num <- function(x) format(x, digits = 17)
vec <- function(x) paste0("[", paste(ifelse(is.na(x), "null", num(x)), collapse = ", "), "]")
fits <- list(
  list(call = "crm(prior=c(0.05,0.1,0.2,0.3,0.5), target=0.25, tox=c(0,0,0,1,0,1,0,0), level=c(1,1,1,2,2,2,3,3), method='mle')",
       f = function() crm(c(0.05,0.1,0.2,0.3,0.5), 0.25, c(0,0,0,1,0,1,0,0), c(1,1,1,2,2,2,3,3), method = "mle")),
  list(call = "crm(prior=c(0.05,0.1,0.2,0.3,0.5), target=0.25, tox=c(0,0,1,1,0,1), level=c(1,2,3,3,4,4), method='mle')",
       f = function() crm(c(0.05,0.1,0.2,0.3,0.5), 0.25, c(0,0,1,1,0,1), c(1,2,3,3,4,4), method = "mle")),
  list(call = "crm(prior=c(0.05,0.1,0.2,0.3,0.5), target=0.25, tox=c(0,0,0,1,0,1,0,0), level=c(1,1,1,2,2,2,3,3), method='mle', model='logistic', intcpt=2)",
       f = function() crm(c(0.05,0.1,0.2,0.3,0.5), 0.25, c(0,0,0,1,0,1,0,0), c(1,1,1,2,2,2,3,3), method = "mle", model = "logistic", intcpt = 2)),
  list(call = "crm(prior=c(0.05,0.1,0.2,0.3,0.5), target=0.25, tox=c(0,0,0,1,0,1,0,0), level=c(1,1,1,2,2,2,3,3), model='logistic', intcpt=2, conf.level=0.95)",
       f = function() crm(c(0.05,0.1,0.2,0.3,0.5), 0.25, c(0,0,0,1,0,1,0,0), c(1,1,1,2,2,2,3,3), model = "logistic", intcpt = 2, conf.level = 0.95)))
cat("{\n  \"description\": \"dfcrm 0.2-2.1 (R/dfcrm.R sourced unchanged, R 4.2.2); see crm_options.R\",\n  \"fits\": [\n")
for (i in seq_along(fits)) {
  o <- fits[[i]]$f()
  cat(sprintf('    {"call": "%s", "estimate": %s, "post_var": %s, "ptox": %s, "ptox_lower": %s, "ptox_upper": %s, "mtd": %d}%s\n',
              gsub('"', "'", fits[[i]]$call), num(o$estimate), num(o$post.var), vec(o$ptox), vec(o$ptoxL), vec(o$ptoxU), o$mtd,
              if (i < length(fits)) "," else ""))
}
cat("  ],\n  \"trials\": [\n")
runs <- list(
  list(key = "two_stage_mle", call = "onetrial(PI, prior=c(0.05,0.1,0.2,0.3,0.5), target=0.25, n=20, x0=c(1,1,2,2,3,3,4,4,5,5,rep(5,10)), mcohort=1, method='mle')",
       PI = c(0.05, 0.1, 0.25, 0.4, 0.55), n = 20, mcohort = 1, x0 = c(1,1,2,2,3,3,4,4,5,5,rep(5,10)), method = "mle", model = "empiric", intcpt = 3),
  list(key = "two_stage_bayes", call = "onetrial(PI, prior=c(0.05,0.1,0.2,0.3,0.5), target=0.25, n=20, x0=c(1,1,2,2,3,3,4,4,5,5,rep(5,10)), mcohort=1)",
       PI = c(0.05, 0.1, 0.25, 0.4, 0.55), n = 20, mcohort = 1, x0 = c(1,1,2,2,3,3,4,4,5,5,rep(5,10)), method = "bayes", model = "empiric", intcpt = 3),
  list(key = "two_stage_mle_toxic", call = "onetrial(PI, prior=c(0.05,0.1,0.2,0.3,0.5), target=0.25, n=20, x0=c(1,1,2,2,3,3,4,4,5,5,rep(5,10)), mcohort=1, method='mle')",
       PI = c(0.3, 0.45, 0.6, 0.7, 0.8), n = 20, mcohort = 1, x0 = c(1,1,2,2,3,3,4,4,5,5,rep(5,10)), method = "mle", model = "empiric", intcpt = 3),
  list(key = "two_stage_logistic_cohorts", call = "onetrial(PI, prior=c(0.05,0.1,0.2,0.3,0.5), target=0.25, n=24, x0=rep(c(1,2,3,4,5,5,5,5), each=3), mcohort=3, model='logistic', intcpt=2)",
       PI = c(0.05, 0.1, 0.25, 0.4, 0.55), n = 24, mcohort = 3, x0 = rep(c(1,2,3,4,5,5,5,5), each = 3), method = "bayes", model = "logistic", intcpt = 2))
for (r in seq_along(runs)) {
  a <- runs[[r]]
  rows <- character(0)
  for (t in 1:100) {
    .trial <- t; .k <- 0
    o <- suppressWarnings(onetrial(a$PI, c(0.05,0.1,0.2,0.3,0.5), 0.25, a$n, a$x0, mcohort = a$mcohort, method = a$method,
                                   model = a$model, intcpt = a$intcpt))
    rows <- c(rows, sprintf('{"mtd": %d, "level": %s}', o$MTD, vec(o$level)))
  }
  cat(sprintf('    {"key": "%s", "call": "%s", "PI": %s, "n": %d, "mcohort": %d, "method": "%s", "model": "%s", "intcpt": %s,\n     "results": [\n      %s]}%s\n',
              a$key, gsub('"', "'", a$call), vec(a$PI), a$n, a$mcohort, a$method, a$model, num(a$intcpt),
              paste(rows, collapse = ",\n      "), if (r < length(runs)) "," else ""))
}
cat("  ]\n}\n")
