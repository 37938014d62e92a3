# Freezes Keyboard decision tables as keyboard_tables.json (tests/designs/test_mtpi2.py).
# Run: Rscript keyboard_tables.R <path to the Keyboard package's R/get.boundary.kb.R> > keyboard_tables.json
# Source used: github.com/cran/Keyboard, commit 75de0db52bce69090223a4c959fe4f58ada0b2f6 (Keyboard 0.1.3),
# R 4.2.2 (Debian r-base-core).  Only get.boundary.kb() is sourced; it needs base R only.
args <- commandArgs(trailingOnly = TRUE)
source(args[1])
calls <- list(
  list(target = 0.10, marginL = 0.05, marginR = 0.05),
  list(target = 0.12, marginL = 0.05, marginR = 0.05),
  list(target = 0.15, marginL = 0.05, marginR = 0.05),
  list(target = 0.20, marginL = 0.10, marginR = 0.10),
  list(target = 0.25, marginL = 0.05, marginR = 0.05),
  list(target = 0.30, marginL = 0.05, marginR = 0.05)
)
vec <- function(x) paste0("[", paste(ifelse(is.na(x), "null", as.character(x)), collapse = ", "), "]")
cat("{\n  \"source\": \"cran/Keyboard 0.1.3 (commit 75de0db52bce69090223a4c959fe4f58ada0b2f6), R 4.2.2\",\n")
cat("  \"tables\": [\n")
for (k in seq_along(calls)) {
  a <- calls[[k]]
  b <- get.boundary.kb(target = a$target, ncohort = 10, cohortsize = 3, marginL = a$marginL,
                       marginR = a$marginR)$full_boundary_tab
  call <- sprintf("get.boundary.kb(target=%s, ncohort=10, cohortsize=3, marginL=%s, marginR=%s)$full_boundary_tab",
                  a$target, a$marginL, a$marginR)
  cat(sprintf("    {\"call\": \"%s\", \"target\": %s, \"marginL\": %s, \"marginR\": %s,\n", call, a$target,
              a$marginL, a$marginR))
  cat(sprintf("     \"escalate_max\": %s,\n     \"deescalate_min\": %s,\n     \"eliminate_min\": %s}%s\n",
              vec(b[2, ]), vec(b[3, ]), vec(b[4, ]), ifelse(k < length(calls), ",", "")))
}
cat("  ]\n}\n")
