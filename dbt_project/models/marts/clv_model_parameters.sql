-- Fitted parameters of the predictive CLV models, one row per parameter per run.
-- BG/NBD: r, alpha (purchase rate ~ Gamma(r, alpha); alpha in `time_unit`), a, b (drop-out
-- probability ~ Beta(a, b)). Gamma-Gamma: p, q, gamma (spend per purchase).
select
    model,
    parameter,
    value,
    std_error,
    time_unit,
    log_likelihood,
    n_customers,
    as_of_date,
    converged,
    at_bound,
    iterations,
    input_fingerprint,
    message,
    fitted_at,
    fitted_at = max(fitted_at) over () as is_latest
from {{ source('models', 'clv_model_parameters') }}
