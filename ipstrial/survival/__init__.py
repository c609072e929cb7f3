"""Time to first employment: Kaplan-Meier, log-rank, Cox, RMST, competing risks."""
