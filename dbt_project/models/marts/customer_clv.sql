-- Historical customer lifetime value: what each buyer has been worth to date.
-- Contribution margin = net revenue ex VAT − cost of goods (seeds/cost_rates.csv)
--   − fulfilment cost per shipped order − payment fees (dbt_project.yml vars).
with

customer_orders as (

    select * from {{ ref('int_customer_orders_aggregated') }}
    where orders_placed_count > 0

),

final as (

    select
        customer_id,
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
        ) as net_revenue_per_year_eur
    from customer_orders

)

select * from final
