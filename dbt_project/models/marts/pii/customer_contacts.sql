-- Restricted: contact details per customer. Only exports read this table;
-- analysts' marts carry customer_id instead (DESIGN.md §4).
with

identities as (

    select * from {{ ref('int_identities_matched') }}
    where customer_id is not null

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

members as (

    select * from {{ ref('stg_newsletter__members') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

people as (

    select * from {{ ref('int_customers_resolved') }}

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

select * from final
