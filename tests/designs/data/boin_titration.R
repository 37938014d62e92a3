# Freezes BOIN get.oc(titration = TRUE) trial by trial as boin_titration.json (tests/designs/test_boin_options.py).
# Run: Rscript boin_titration.R <BOIN package R/ directory> <uniforms.csv> > boin_titration.json
# where uniforms.csv is crn_uniforms.npz's "u" written as CSV (numpy.savetxt(..., delimiter=",", fmt="%.17g")).
# Source: github.com/cran/BOIN commit 6c3a0c2475fe51276dac994ff599a767496ad759 (BOIN 2.7.2), R 4.2.2.
# get.boundary(), select.mtd() and get.oc() are sourced unchanged; runif() is masked so that patient i of trial t
# has a DLT at dose d iff U[t, i] < p.true[d] (get.oc is called once per trial, ntrial = 1).  get.oc draws the
# titration as runif(ndose) for every dose at once and uses only the doses up to the first DLT: the mask
# advances past those patients only, so that the next patient takes the next uniform.
args <- commandArgs(trailingOnly = TRUE)
for (f in c("get.boundary.R", "select.mtd.R", "get.oc.R")) source(file.path(args[1], f))
U <- as.matrix(read.csv(args[2], header = FALSE))
.trial <- 1; .k <- 0; .titration <- TRUE; .p <- NULL
runif <- function(n) {
  idx <- (.k + 1):(.k + n)
  v <- ifelse(idx <= ncol(U), U[.trial, pmin(idx, ncol(U))], 1)  # a cut last cohort draws beyond the sample size
  if (.titration) {  # the first draw of a trial is the titration over all doses
    .titration <<- FALSE
    z <- v < .p
    .k <<- .k + (if (any(z)) which(z)[1] else n)
  } else {
    .k <<- .k + n
  }
  v
}
vec <- function(x) paste0("[", paste(format(x, digits = 17), collapse = ", "), "]")
runs <- list(
  list(key = "titration", call = "get.oc(target=0.3, p.true=c(0.05,0.15,0.28,0.45,0.6), ncohort=10, cohortsize=3, titration=TRUE)",
       args = list(target = 0.3, p.true = c(0.05, 0.15, 0.28, 0.45, 0.6), ncohort = 10, cohortsize = 3, titration = TRUE)),
  list(key = "titration_safe_low_doses", call = "get.oc(target=0.25, p.true=c(0.02,0.04,0.06,0.1,0.24,0.45), ncohort=9, cohortsize=3, titration=TRUE)",
       args = list(target = 0.25, p.true = c(0.02, 0.04, 0.06, 0.1, 0.24, 0.45), ncohort = 9, cohortsize = 3, titration = TRUE)),
  list(key = "titration_toxic_earlystop", call = "get.oc(target=0.3, p.true=c(0.32,0.45,0.55,0.65,0.75), ncohort=10, cohortsize=3, titration=TRUE, n.earlystop=12)",
       args = list(target = 0.3, p.true = c(0.32, 0.45, 0.55, 0.65, 0.75), ncohort = 10, cohortsize = 3, titration = TRUE, n.earlystop = 12)))
cat("{\n  \"description\": \"BOIN 2.7.2 get.oc(titration = TRUE), one trial per uniform row; see boin_titration.R\",\n  \"runs\": [\n")
for (r in seq_along(runs)) {
  a <- runs[[r]]
  rows <- character(0)
  for (t in 1:200) {
    .trial <- t; .k <- 0; .titration <- TRUE; .p <- a$args$p.true
    oc <- suppressWarnings(do.call(get.oc, c(a$args, list(ntrial = 1))))
    sel <- if (oc$percentstop > 0 || sum(oc$selpercent) == 0) 99 else which(oc$selpercent == 100)
    rows <- c(rows, vec(c(sel, oc$npatients, oc$ntox)))
  }
  cat(sprintf('    {"key": "%s", "call": "%s", "p_true": %s, "target": %s, "ncohort": %d, "n_earlystop": %d,\n     "columns": "selected (99: none), patients per dose, DLTs per dose",\n     "trials": [\n      %s]}%s\n',
              a$key, a$call, vec(a$args$p.true), format(a$args$target), a$args$ncohort,
              if (is.null(a$args$n.earlystop)) 100L else as.integer(a$args$n.earlystop),
              paste(rows, collapse = ",\n      "), if (r < length(runs)) "," else ""))
}
cat("  ]\n}\n")
