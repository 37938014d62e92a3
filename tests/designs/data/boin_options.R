# Freezes BOIN option references as boin_options.json (tests/designs/test_boin_options.py).
# Run: Rscript boin_options.R <BOIN package R/ directory> <uniforms.csv> > boin_options.json
# where uniforms.csv is crn_uniforms.npz's "u" written as CSV (numpy.savetxt(..., fmt="%.17g")).
# Source: github.com/cran/BOIN commit 6c3a0c2475fe51276dac994ff599a767496ad759 (BOIN 2.7.2), R 4.2.2.
# get.boundary(), select.mtd() and get.oc() are sourced unchanged; runif() is masked so that patient i
# of trial t has a DLT at dose d iff U[t, i] < p.true[d] (get.oc is called once per trial, ntrial = 1).
args <- commandArgs(trailingOnly = TRUE)
for (f in c("get.boundary.R", "select.mtd.R", "get.oc.R")) source(file.path(args[1], f))
U <- as.matrix(read.csv(args[2], header = FALSE))
.row <- 1; .k <- 0
runif <- function(n) { v <- U[.row, (.k + 1):(.k + n)]; .k <<- .k + n; v }
vec <- function(x) paste0("[", paste(ifelse(is.na(x), "null", format(x, digits = 17)), collapse = ", "), "]")
trials <- function(ntrial, args) {
  rows <- character(0)
  for (t in 1:ntrial) {
    .row <<- t; .k <<- 0
    oc <- do.call(get.oc, c(args, list(ntrial = 1)))
    sel <- if (oc$percentstop > 0 || sum(oc$selpercent) == 0) 99 else which(oc$selpercent == 100)
    rows <- c(rows, vec(c(sel, oc$npatients, oc$ntox)))
  }
  paste0("[\n      ", paste(rows, collapse = ",\n      "), "]")
}
p1 <- c(0.05, 0.12, 0.28, 0.45, 0.55, 0.7)
p2 <- c(0.32, 0.42, 0.5, 0.6, 0.7, 0.8)
runs <- list(
  list(key = "extrasafe", call = "get.oc(target=0.3, p.true=c(0.32,0.42,0.5,0.6,0.7,0.8), ncohort=10, cohortsize=3, extrasafe=TRUE)",
       args = list(target = 0.3, p.true = p2, ncohort = 10, cohortsize = 3, extrasafe = TRUE)),
  list(key = "extrasafe_offset01", call = "get.oc(target=0.3, p.true=c(0.32,0.42,0.5,0.6,0.7,0.8), ncohort=10, cohortsize=3, extrasafe=TRUE, offset=0.1)",
       args = list(target = 0.3, p.true = p2, ncohort = 10, cohortsize = 3, extrasafe = TRUE, offset = 0.1)),
  list(key = "cutoff_eli09_boundmtd", call = "get.oc(target=0.3, p.true=c(0.05,0.12,0.28,0.45,0.55,0.7), ncohort=10, cohortsize=3, cutoff.eli=0.9, boundMTD=TRUE)",
       args = list(target = 0.3, p.true = p1, ncohort = 10, cohortsize = 3, cutoff.eli = 0.9, boundMTD = TRUE)),
  list(key = "earlystop9", call = "get.oc(target=0.25, p.true=c(0.05,0.12,0.28,0.45,0.55,0.7), ncohort=10, cohortsize=3, n.earlystop=9)",
       args = list(target = 0.25, p.true = p1, ncohort = 10, cohortsize = 3, n.earlystop = 9))
)
sb <- get.boundary(target = 0.3, ncohort = 10, cohortsize = 3, extrasafe = TRUE)$stop_boundary
sb2 <- get.boundary(target = 0.25, ncohort = 10, cohortsize = 3, extrasafe = TRUE, offset = 0.1)$stop_boundary
cat("{\n  \"source\": \"cran/BOIN 2.7.2 (commit 6c3a0c2475fe51276dac994ff599a767496ad759), R 4.2.2; uniforms: crn_uniforms.npz\",\n")
cat("  \"columns\": \"selected dose (1-based, 99 = none), patients per dose (6), DLTs per dose (6)\",\n")
cat("  \"stop_boundary\": {\"call\": \"get.boundary(target=0.3, ncohort=10, cohortsize=3, extrasafe=TRUE)$stop_boundary\", \"n\": ",
    vec(sb[1, ]), ", \"stop_min\": ", vec(sb[2, ]), "},\n", sep = "")
cat("  \"stop_boundary_offset01\": {\"call\": \"get.boundary(target=0.25, ncohort=10, cohortsize=3, extrasafe=TRUE, offset=0.1)$stop_boundary\", \"n\": ",
    vec(sb2[1, ]), ", \"stop_min\": ", vec(sb2[2, ]), "},\n", sep = "")
cat("  \"trials\": {\n")
for (k in seq_along(runs)) {
  r <- runs[[k]]
  cat(sprintf("    \"%s\": {\"call\": \"%s, trials 1-100\", \"rows\": %s}%s\n", r$key, r$call, trials(100, r$args),
              ifelse(k < length(runs), ",", "")))
}
cat("  }\n}\n")
