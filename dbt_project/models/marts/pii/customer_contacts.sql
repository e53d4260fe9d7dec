-- Restricted: contact details per customer. Only exports read this table;
-- analysts' marts carry customer_id instead (DESIGN.md §4).
-- Incremental (design note 28): the people int_customers_resolved rebuilt since this
-- model's last build, from their own records only (a person's details come from the
-- orders, contacts and audience members keyed to them); people who are no longer
-- resolved are dropped (post-hook).
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='customer_id',
    post_hook="{{ drop_people_no_longer_resolved() }}"
) }}
-- depends_on: {{ ref('int_identities_matched') }}

with

people as (

    select * from {{ ref('int_customers_resolved') }}
    {% if is_incremental() %}
    where built_at > (select coalesce(max(built_at), '-infinity') from {{ this }})
    {% endif %}

),

{% if is_incremental() %}
records as (

    -- the source records of those people
    select record_type, source_record_id
    from {{ ref('int_identities_matched') }}
    where customer_id in (select customer_id from people)

),
{% endif %}

contacts as (

    select * from {{ ref('stg_crm__contacts') }}
    {% if is_incremental() %}
    where contact_id in (
        select source_record_id from records where record_type = 'contact')
    {% endif %}

),

members as (

    select * from {{ ref('stg_newsletter__members') }}
    {% if is_incremental() %}
    where {{ member_record_id('email_normalised') }} in (
        select source_record_id from records where record_type = 'member')
    {% endif %}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}
    {% if is_incremental() %}
    where order_id in (
        select source_record_id from records where record_type = 'order')
    {% endif %}

),

emails as (

    -- each distinct address checked and keyed once (hashing every order's e-mail took
    -- most of the time)
    {{ customer_keys_by_address(
        '(select email_normalised from contacts union all '
        ~ 'select email_normalised from members union all '
        ~ 'select email_normalised from orders) as all_emails') }}

),

billing as (

    -- the latest checkout's billing name and phone, for people known only from the shop;
    -- the addresses checked and keyed above, not each order's again
    select
        emails.customer_id,
        latest.billing_name,
        latest.billing_phone
    from (
        select
            email_normalised,
            arg_max(billing_name, ordered_at) as billing_name,
            arg_max(billing_phone, ordered_at) as billing_phone
        from orders
        group by email_normalised
    ) as latest
    inner join emails
        on latest.email_normalised = emails.email_normalised

),

final as (

    select
        people.customer_id,
        emails.email_normalised as email,
        coalesce(
            contacts.first_name, members.first_name,
            nullif(regexp_extract(billing.billing_name, '^(.*) [^ ]+$', 1), '')
        ) as first_name,
        coalesce(
            contacts.last_name, members.last_name,
            regexp_extract(billing.billing_name, '([^ ]+)$', 1)
        ) as last_name,
        coalesce(contacts.phone, billing.billing_phone) as phone
    from people
    left join emails
        on people.customer_id = emails.customer_id
    left join contacts
        on people.crm_contact_id = contacts.contact_id
    left join members
        on emails.email_normalised = members.email_normalised
    left join billing
        on people.customer_id = billing.customer_id

)

select *, {{ build_time() }} as built_at from final
