-- One row per person known from any source, with their primary CRM contact and account.
-- Incremental (design note 28): a person's row is made of their identity records and the
-- contacts and orders behind them, and every record that changes comes back re-keyed
-- into int_identities_matched (note 19) with a new built_at. A run rebuilds the people of
-- those records, unless the record counts do not add up (a record went to another person
-- or to none): then everyone is rebuilt, and the post-hook drops people left without a
-- record. A full refresh builds everyone.
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='customer_id',
    post_hook="{{ drop_customers_without_records(ref('int_identities_matched'), 'source_record_count') }}"
) }}

with

-- read three times below; each reads only its columns and rows (materialised, the
-- 7.6 M-row CTE took a quarter of this model on L)
all_identities as not materialized (

    select * from {{ ref('int_identities_matched') }}
    where customer_id is not null

),

-- the people with a record keyed since this model's last build, and whether the
-- record counts add up (macros/incremental.sql)
{{ changed_customers('all_identities', 'source_record_count') }}

identities as not materialized (

    select * from all_identities
    {{ of_changed_customers() }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

contact_ranked as (

    select
        identities.customer_id,
        contacts.*,
        row_number() over (
            partition by identities.customer_id
            order by contacts.created_at nulls last, contacts.contact_id
        ) as contact_rank
    from identities
    inner join contacts
        on identities.record_type = 'contact'
        and identities.source_record_id = contacts.contact_id

),

billing_company as (

    select
        identities.customer_id,
        max(orders.billing_company) as billing_company,
        max(orders.billing_country) as billing_country
    from identities
    inner join orders
        on identities.record_type = 'order'
        and identities.source_record_id = orders.order_id
    group by identities.customer_id

),

people as (

    select
        customer_id,
        bool_or(source_system = 'shop') as is_in_shop,
        bool_or(record_type = 'contact') as is_in_crm,
        bool_or(record_type = 'member') as is_in_newsletter,
        count(*) filter (where record_type = 'contact') as crm_contact_count,
        count(*) as source_record_count
    from identities
    group by customer_id

),

final as (

    select
        people.*,
        primary_contact.contact_id as crm_contact_id,
        primary_contact.company_id as crm_company_id,
        coalesce(primary_contact.company_name, billing_company.billing_company)
            as company_name,
        coalesce(
            primary_contact.company_id,
            'billing:' || lower(billing_company.billing_company)
        ) as account_id,
        primary_contact.crm_lifecycle_stage,
        primary_contact.lead_status,
        primary_contact.original_source,
        primary_contact.created_at as crm_created_at,
        billing_company.billing_country
    from people
    left join contact_ranked as primary_contact
        on people.customer_id = primary_contact.customer_id
        and primary_contact.contact_rank = 1
    left join billing_company
        on people.customer_id = billing_company.customer_id

)

select *, {{ build_time() }} as built_at from final
