-- Back-test of the BG/NBD model: repeat purchase days predicted for the hold-out period
-- (analysis date → last order date in the data) against what happened, for all buyers and
-- by number of repeat purchase days before the analysis date; next to the naive baseline
-- "everyone keeps buying at their own repeat rate so far". Empty when there is no hold-out.
select * from {{ source('models', 'clv_backtest') }}
