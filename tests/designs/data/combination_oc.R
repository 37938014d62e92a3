# Reference operating characteristics of the BOIN drug-combination and waterfall designs:
# BOIN 2.7.2 (get.oc.comb, select.mtd.comb) with Iso 0.0-18.1, R 4.2.2.
# BOIN is not packaged for Debian and CRAN is out of reach here, so the fixtures were made by
# sourcing BOIN 2.7.2's R/ files (get.boundary.R, get.oc.comb.R, select.mtd.comb.R) instead of
# library(BOIN); the calls are the package's, recorded verbatim in the JSON ("call").
#   Rscript tests/designs/data/combination_oc.R 10000 > tests/designs/data/combination_oc_r.json
suppressPackageStartupMessages({library(BOIN); library(jsonlite)})
N <- as.integer(commandArgs(TRUE)[1]); out <- list()
m <- function(v, nr) matrix(v, nrow = nr, byrow = TRUE)
jss <- m(c(0.01,0.03,0.10,0.20,0.30, 0.03,0.05,0.15,0.30,0.60, 0.08,0.10,0.30,0.60,0.75), 3)  # Yan et al. 2020, JSS example
tox <- m(c(0.35,0.45,0.55,0.65, 0.45,0.55,0.65,0.75), 2)
esc <- m(c(0.10,0.20,0.30,0.45, 0.30,0.40,0.50,0.60, 0.50,0.60,0.70,0.80), 3)
run <- function(name, call) {
  r <- eval(parse(text = call)); r$flowchart <- NULL
  out[[name]] <<- c(list(call = call), lapply(unclass(r), function(x) if (is.matrix(x)) unname(x) else x))
}
run("boin_jss_es12", sprintf("get.oc.comb(target=0.3, p.true=jss, ncohort=20, cohortsize=3, n.earlystop=12, startdose=c(1,1), ntrial=%d, seed=6)", N))
run("boin_jss_n10", sprintf("get.oc.comb(target=0.3, p.true=jss, ncohort=10, cohortsize=3, startdose=c(1,1), ntrial=%d, seed=7)", N))
run("boin_toxic", sprintf("get.oc.comb(target=0.3, p.true=tox, ncohort=10, cohortsize=3, ntrial=%d, seed=8)", N))
run("boin_jss_boundmtd", sprintf("get.oc.comb(target=0.3, p.true=jss, ncohort=12, cohortsize=3, boundMTD=TRUE, ntrial=%d, seed=9)", N))
run("waterfall_jss", sprintf("get.oc.comb(target=0.3, p.true=jss, ncohort=c(10,5,5), cohortsize=3, n.earlystop=12, startdose=c(1,1), ntrial=%d, mtd.contour=TRUE, seed=10)", N))
run("waterfall_esc", sprintf("get.oc.comb(target=0.3, p.true=esc, ncohort=c(8,6,6), cohortsize=3, n.earlystop=12, ntrial=%d, mtd.contour=TRUE, seed=11)", N))
out$matrices <- list(jss = jss, tox = tox, esc = esc)
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), stdout())
