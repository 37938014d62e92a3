# next.comb (BOIN 2.7.2) on the real two-drug escalations, for every treated pair taken as the current pair.
# BOIN is not packaged for Debian and CRAN is out of reach here: BOIN 2.7.2's R/get.boundary.R and
# R/next.comb.R are sourced (as in combination_oc.R); the call is the package's, recorded in "call".
# Grids (rows: agent A levels, columns: agent B levels), as dossier.designs.comb_base.pairs_to_grid builds
# them (tested in test_combination_commands.py):
#   oncobayes2: OncoBayes2 codata_combo2, trial_AB, drug_A 3/4.5/6 x drug_B 400/600/800, rows summed per pair
#   drugcombo_10416004: drugcombo-data PMID 10416004 CombnID 1, epirubicin 60/70/80 x docetaxel 80/90 mg/m2
# Ties between the two neighbours are broken by runif in next.comb: each case is run with seeds 1..40 and the
# set of next pairs seen is recorded ("next": 1-based pairs; "stop" when next_dc is NA or 99).
#   Rscript tests/designs/data/combination_next_comb.R BOIN_R_DIR > tests/designs/data/combination_next_comb_r.json
suppressPackageStartupMessages(library(jsonlite))
dir <- commandArgs(TRUE)[1]
for (f in c("get.boundary.R", "next.comb.R")) source(file.path(dir, f))
m <- function(v, nr) matrix(v, nrow = nr, byrow = TRUE)
grids <- list(
  oncobayes2 = list(n = m(c(6, 0, 9, 0, 10, 0, 13, 0, 0), 3), y = m(c(0, 0, 3, 0, 2, 0, 4, 0, 0), 3)),
  drugcombo_10416004 = list(n = m(c(7, 6, 24, 6, 0, 4), 3), y = m(c(1, 4, 11, 2, 0, 4), 3)))
out <- list()
for (g in names(grids)) for (es in c(100, 12)) {
  n <- grids[[g]]$n; y <- grids[[g]]$y
  for (i in 1:nrow(n)) for (j in 1:ncol(n)) if (n[i, j] > 0) {
    call <- sprintf("next.comb(target=0.3, npts=n, ntox=y, dose.curr=c(%d,%d), n.earlystop=%d)", i, j, es)
    seen <- character(0)
    for (s in 1:40) {
      set.seed(s)
      invisible(capture.output(r <- suppressWarnings(eval(parse(text = call)))))  # next.comb cat()s its stops
      d <- r$next_dc
      seen <- union(seen, if (any(is.na(d)) || any(d == 99)) "stop" else paste(d, collapse = ","))
    }
    out[[length(out) + 1]] <- list(grid = g, n_earlystop = es, current = c(i, j), call = call,
                                    n = n, y = y, `next` = I(sort(seen)))
  }
}
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), stdout())
