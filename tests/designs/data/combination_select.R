# select.mtd.comb (BOIN 2.7.2; sourced R/ files, see combination_oc.R) on hand-made data sets; a
# data set whose lowest pair is eliminated makes 2.7.2 fail ("object 'phat.out.noCI' not found"),
# recorded as such.  Rscript tests/designs/data/combination_select.R  (writes combination_select_r.json)
suppressPackageStartupMessages({library(BOIN); library(jsonlite)})
m <- function(v, nr) matrix(v, nrow=nr, byrow=TRUE)
cases <- list(
 list(n=m(c(3,5,0,0,0, 7,6,15,0,0, 0,0,4,0,0),3), y=m(c(0,1,0,0,0, 1,1,4,0,0, 0,0,2,0,0),3)),
 list(n=m(c(6,3,0,0, 6,24,9,0, 0,0,0,0),3), y=m(c(0,0,0,0, 1,5,4,0, 0,0,0,0),3)),
 list(n=m(c(3,3,3,0, 3,3,3,0, 3,3,3,0),3), y=m(c(0,3,0,0, 0,0,0,0, 0,0,0,0),3)),
 list(n=m(c(3,0,0, 0,0,0),2), y=m(c(3,0,0, 0,0,0),2)),
 list(n=m(c(3,6,3, 9,3,0),2), y=m(c(0,1,2, 2,2,0),2)),
 list(n=m(c(6,0,0,0, 6,10,12,0, 9,12,0,0),3), y=m(c(0,0,0,0, 1,1,4,0, 2,3,0,0),3))
)
out <- lapply(cases, function(cc) {
  r <- tryCatch(select.mtd.comb(target=0.3, npts=cc$n, ntox=cc$y), error=function(e) list(MTD=conditionMessage(e), p_est=NA))
  rc <- tryCatch(select.mtd.comb(target=0.3, npts=cc$n, ntox=cc$y, mtd.contour=TRUE), error=function(e) list(MTD=conditionMessage(e)))
  list(n=cc$n, y=cc$y, mtd=unname(r$MTD), p_est=unname(r$p_est), contour=unname(rc$MTD),
       call="select.mtd.comb(target = 0.3, npts = n, ntox = y)")
})
write(toJSON(out, digits=NA, auto_unbox=FALSE, pretty=TRUE, na="null"), "combination_select_r.json")
