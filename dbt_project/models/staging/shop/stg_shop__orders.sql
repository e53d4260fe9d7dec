-- One row per order: the order-level row (the first row of each order in the export).
-- An order exported in several files is taken from the file loaded last.
-- Incremental (design note 17): a run reads only the files loaded since the last build
-- and replaces the orders they contain; any other change to the raw data (a file
-- replaced or removed, new code or salt) makes the pipeline rebuild with --full-refresh.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='order_id') }}

with

-- read three times through order_headers (first_per_key): neither is materialised
source as not materialized (

    select * from {{ source('shop', 'orders') }}
    {{ incremental_batch() }}

),

order_headers as not materialized (

    select * from source
    where total is not null

),

order_rows as (

    {{ first_per_key('order_headers', ['order_name'],
                     '_loaded_at desc, _source_file desc, _source_line') }}

),

renamed as (

    select
        ----------  ids
        order_name as order_id,
        shopify_order_id,
        email as email_raw,
        {{ normalise_email('email') }} as email_normalised,

        ----------  status
        lower(trim(financial_status)) as financial_status,
        lower(trim(fulfillment_status)) as fulfillment_status,
        coalesce(accepts_marketing, false) as accepts_marketing,
        cancelled_at is not null as is_cancelled,

        ----------  money (EUR unless `currency` says otherwise)
        upper(coalesce(currency, 'EUR')) as currency,
        coalesce(subtotal, total - coalesce(shipping, 0)) as subtotal_amount,
        coalesce(shipping, 0) as shipping_amount,
        coalesce(taxes, 0) as tax_amount,
        total as total_amount,
        nullif(trim(discount_code), '') as discount_code,
        coalesce(discount_amount, 0) as discount_amount,
        coalesce(refunded_amount, 0) as refunded_amount,
        coalesce(outstanding_balance, 0) as outstanding_amount,

        ----------  timestamps (UTC)
        created_at as ordered_at,
        paid_at,
        fulfilled_at,
        cancelled_at,

        ----------  other
        payment_method,
        nullif(trim(billing_name), '') as billing_name,
        nullif(trim(coalesce(billing_phone, phone)), '') as billing_phone,
        nullif(trim(billing_company), '') as billing_company,
        upper(billing_country) as billing_country,
        lower(source_name) as sales_channel,
        tags,
        _source_file,
        _source_line,
        _loaded_at

    from order_rows

)

select *, {{ build_time() }} as built_at from renamed
