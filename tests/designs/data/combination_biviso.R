# Reference values of the bivariate isotonic regression: Iso::biviso (Iso 0.0-18.1, Debian r-cran-iso, R 4.2.2).
# Rscript tests/designs/data/combination_biviso.R > tests/designs/data/combination_biviso.json
suppressPackageStartupMessages({library(Iso); library(jsonlite)})
set.seed(2024)
cases <- list()
shapes <- list(c(2, 2), c(2, 3), c(3, 3), c(3, 5), c(4, 4), c(2, 5))
for (s in seq_along(shapes)) {
  J <- shapes[[s]][1]; K <- shapes[[s]][2]
  n <- matrix(sample(0:9, J * K, replace = TRUE), J, K)
  y <- matrix(sapply(n, function(v) if (v == 0) 0 else sample(0:v, 1)), J, K)
  x <- (y + 0.05) / (n + 0.1); w <- n + 0.1
  fit <- biviso(x, w, eps2 = 1e-12)
  cases[[s]] <- list(x = unname(x), w = unname(w), fit = unname(fit[, ]),
                     call = "Iso::biviso((y + 0.05) / (n + 0.1), n + 0.1, eps2 = 1e-12)")
}
u <- matrix(c(0.5, 0.2, 0.9, 0.1, 0.4, 0.3), 2, 3, byrow = TRUE)
cases[[length(cases) + 1]] <- list(x = unname(u), w = matrix(1, 2, 3), fit = unname(biviso(u, eps2 = 1e-12)[, ]),
                                   call = "Iso::biviso(x, eps2 = 1e-12)")
write(toJSON(cases, digits = NA, auto_unbox = TRUE, pretty = TRUE), stdout())
