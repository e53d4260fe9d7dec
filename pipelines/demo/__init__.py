"""Demo data: the same people across a Shopify shop, HubSpot CRM and Mailchimp."""
