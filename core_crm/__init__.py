"""The CRM every tenant has, split into bounded contexts; all of it lives in tenant schemas."""
