"""Stage 5, risk: findings and locks → LOW / MEDIUM / HIGH, and duration estimates from table sizes."""
