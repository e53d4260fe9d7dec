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

    select
        customer_id,
        email_normalised
    from (
        select
            {{ customer_key('email_normalised') }} as customer_id,
            email_normalised
        from contacts
        where {{ is_matchable_email('email_normalised') }}
        union all
        select {{ customer_key('email_normalised') }}, email_normalised
        from members
        where {{ is_matchable_email('email_normalised') }}
        union all
        select {{ customer_key('email_normalised') }}, email_normalised
        from orders
        where {{ is_matchable_email('email_normalised') }}
    ) as all_emails
    group by customer_id, email_normalised

),

final as (

    select
        people.customer_id,
        emails.email_normalised as email,
        coalesce(contacts.first_name, members.first_name) as first_name,
        coalesce(contacts.last_name, members.last_name) as last_name,
        contacts.phone
    from people
    left join emails
        on people.customer_id = emails.customer_id
    left join contacts
        on people.crm_contact_id = contacts.contact_id
    left join members
        on emails.email_normalised = members.email_normalised

)

select * from final
