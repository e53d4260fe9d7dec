-- Customer lifetime value: what each buyer has been worth to date (historical) and is
-- expected to be worth (predictive, from pipelines/models/clv.py).
-- Contribution margin = net revenue ex VAT − cost of goods (seeds/cost_rates.csv)
--   − fulfilment cost per shipped order − payment fees (dbt_project.yml vars).
-- Predicted margin CLV = predicted CLV (revenue) × the customer's historical contribution
--   margin per euro of net revenue (0 when the margin so far is negative).
with

customer_orders as (

    select * from {{ ref('int_customer_orders_aggregated') }}
    where orders_placed_count > 0

),

predictions as (

    select * from {{ source('models', 'clv_predictions') }}

),

final as (

    select
        customer_orders.customer_id,
        orders_count,
        first_order_date,
        last_order_date,
        days_since_first_order as tenure_days,
        net_revenue_eur,
        net_revenue_ex_vat_eur,
        cogs_eur,
        fulfilment_cost_eur,
        payment_fee_eur,
        contribution_margin_eur,
        case
            when net_revenue_ex_vat_eur > 0
                then round(contribution_margin_eur / net_revenue_ex_vat_eur, 4)
        end as margin_rate,
        case
            when orders_count > 0
                then round(contribution_margin_eur / orders_count, 2)
        end as margin_per_order_eur,
        round(
            net_revenue_eur * 365.0 / greatest(days_since_first_order, 30), 2
        ) as net_revenue_per_year_eur,
        ----------  predictive (BG/NBD + Gamma-Gamma)
        round(predictions.p_alive, 4) as p_alive,
        {%- for days in var('clv_horizons_days') %}
        round(predictions.expected_purchases_{{ days }}d, 4) as expected_purchases_{{ days }}d,
        {%- endfor %}
        round(predictions.expected_spend_per_purchase_eur, 2) as expected_spend_per_purchase_eur,
        round(predictions.predicted_clv_eur, 2) as predicted_clv_eur,
        round(
            predictions.predicted_clv_eur
            * case
                when customer_orders.net_revenue_eur > 0
                    then greatest(
                        customer_orders.contribution_margin_eur
                        / customer_orders.net_revenue_eur, 0
                    )
                else 0
            end, 2
        ) as predicted_margin_clv_eur,
        coalesce(
            predictions.clv_null_reason,
            case when predictions.customer_id is null then 'no purchase yet (only cancelled or fully refunded orders)' end
        ) as clv_null_reason
    from customer_orders
    left join predictions
        on customer_orders.customer_id = predictions.customer_id

)

select * from final
