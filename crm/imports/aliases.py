"""The header alias table: which column of which CRM's export is which Rapport field.

To teach Rapport a new export, add the column's header to the field's tuple below
(spelling does not matter: headers are compared lower-cased with everything but letters
and digits removed, so "First Name", "FirstName" and "first_name" are one key). A field
Rapport has no column for (city, title, lifecycle stage...) is kept in the record's
custom fields under the field's name; any header not listed here becomes a custom field
under its own name. Nothing is dropped without the report naming it.

Sources used for the layouts: HubSpot's contact/company/deal export, Salesforce's report
labels and API field names, Pipedrive's "Entity - Field" export, Zoho CRM's module export,
Google Contacts' CSV ("E-mail 1 - Value", "Organization 1 - Name") and Outlook's CSV
("E-mail 2 Address", "Business Phone"), and a plain `Name,Email,Phone,Notes` sheet.
"""

import re

RECORD_TYPES = ("contacts", "companies", "deals", "activities", "purchases")

# record type -> Rapport field -> headers that mean it (any vendor)
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "contacts": {
        "external_id": ("Record ID", "Id", "Contact ID", "ContactId", "Person - ID", "rapport_id"),
        "external_ids": ("external_ids",),
        "name": ("Name", "Full Name", "Contact Name", "Person - Name", "Contact"),
        "first_name": ("First Name", "FirstName", "Given Name", "Person - First name",
                       "First"),
        "last_name": ("Last Name", "LastName", "Surname", "Family Name", "Person - Last name",
                      "Last"),
        "email": (
            "Email", "Emails", "E-mail", "Email Address", "Secondary Email", "Work Email",
            "Person - Email", "Person - Email - Work", "Person - Email - Home",
            "Person - Email - Other",
            # Google Contacts ("E-mail 1 - Value") and Outlook ("E-mail 2 Address")
            "E-mail 1 - Value", "E-mail 2 - Value", "E-mail 3 - Value", "E-mail Address",
            "E-mail 2 Address", "E-mail 3 Address", "Email 2", "Email 3", "Personal Email",
        ),
        "phone": (
            "Phone", "Phones", "Phone Number", "Mobile", "MobilePhone", "Mobile Phone",
            "Mobile Phone Number", "Work Phone", "Home Phone", "Person - Phone",
            "Person - Phone - Work", "Person - Phone - Mobile", "Person - Phone - Home",
            "Phone 1 - Value", "Phone 2 - Value", "Phone 3 - Value", "Business Phone",
            "Business Phone 2", "Home Phone 2", "Other Phone", "Primary Phone", "Cell",
            "Cell Phone", "Telephone", "Tel", "Phone 2",
        ),
        "company": (
            "Company", "Company Name", "Account Name", "Account", "Organization",
            "Organisation", "Associated Company", "Person - Organization", "Organization - Name",
            "Organization 1 - Name", "Organization Name", "Organisation Name",
        ),
        "company_ref": ("AccountId", "Account ID", "Company ID", "Organization - ID",
                        "company_rapport_id"),
        "owner": ("Owner", "Contact owner", "Contact Owner", "Owner Name", "OwnerId",
                  "Person - Owner"),
        "tags": ("Tags", "Tag", "Labels", "Label", "Person - Label"),
        "timezone": ("Time Zone", "Timezone", "tz"),
        "created_at": ("Create Date", "Created Date", "CreatedDate", "Created Time", "Created",
                       "Created At", "Person - Person created"),
        # kept in custom fields under these names
        "title": ("Title", "Job Title", "Person - Job title", "Organization 1 - Title",
                  "Organization Title", "Position"),
        "notes": ("Notes", "Note", "Comments", "Description", "About"),
        "city": ("City", "Mailing City", "MailingCity", "Person - City"),
        "country": ("Country", "Mailing Country", "MailingCountry", "Country/Region"),
        "lifecycle_stage": ("Lifecycle Stage", "LifecycleStage", "Lead Status"),
        "lead_source": ("Lead Source", "LeadSource", "Original Source"),
    },
    "companies": {
        "external_id": ("Record ID", "Id", "Account ID", "AccountId", "Company ID",
                        "Organization - ID", "rapport_id"),
        "external_ids": ("external_ids",),
        "name": ("Name", "Company name", "Company", "Account Name", "Organization - Name",
                 "Organization", "Organisation"),
        "domain": ("Domain", "Company Domain Name", "Website", "Website URL",
                   "Organization - Website"),
        "created_at": ("Create Date", "Created Date", "CreatedDate", "Created Time", "Created",
                       "Created At", "Organization - Organization created"),
        # kept in custom fields under these names
        "owner": ("Owner", "Company owner", "Account Owner", "OwnerId", "Organization - Owner"),
        "phone": ("Phone", "Phone Number", "Organization - Phone"),
        "industry": ("Industry", "Organization - Industry"),
        "city": ("City", "Billing City", "BillingCity", "Organization - City"),
        "country": ("Country", "Billing Country", "BillingCountry", "Country/Region"),
        "employees": ("Number of Employees", "NumberOfEmployees", "Employees"),
    },
    "deals": {
        "external_id": ("Record ID", "Id", "Opportunity ID", "Deal ID", "Deal - ID",
                        "rapport_id"),
        "external_ids": ("external_ids",),
        "title": ("Deal Name", "Opportunity Name", "Name", "Title", "Deal - Title", "Deal"),
        "amount": ("Amount", "Deal - Value", "Value", "Deal Value", "Expected Revenue"),
        "currency": ("Currency", "Deal - Currency", "CurrencyIsoCode", "Opportunity Currency",
                     "Amount Currency"),
        "stage": ("Deal Stage", "Stage", "StageName", "Deal - Stage"),
        "status": ("Status", "Deal - Status", "Won/Lost"),
        "close_date": ("Close Date", "CloseDate", "Closing Date", "Deal - Expected close date"),
        "expected_close": ("expected_close",),
        "closed_at": ("closed_at", "Deal - Won time", "Deal - Lost time", "Closed Time"),
        "close_reason": ("close_reason", "Lost Reason", "Closed Lost Reason",
                         "Deal - Lost reason"),
        "contact": ("Contact Name", "Associated Contact", "Contact", "Primary Contact",
                    "Deal - Contact person", "Person - Name"),
        "contact_email": ("Contact Email", "contact_email", "Person - Email"),
        "contact_ref": ("ContactId", "Contact ID", "Person - ID", "contact_rapport_id"),
        "company": ("Account Name", "Company", "Associated Company", "Company Name",
                    "Deal - Organization", "Organization - Name", "Organization"),
        "company_ref": ("AccountId", "Account ID", "Company ID", "Organization - ID",
                        "company_rapport_id"),
        "owner": ("Owner", "Deal owner", "Deal Owner", "Opportunity Owner", "OwnerId",
                  "Deal - Owner"),
        "created_at": ("Create Date", "Created Date", "CreatedDate", "Created Time", "Created",
                       "Created At", "Deal - Deal created"),
        # kept in custom fields under these names
        "pipeline": ("Pipeline", "Deal - Pipeline"),
        "probability": ("Probability", "Probability (%)", "Deal - Probability"),
    },
    "activities": {
        "external_id": ("Record ID", "Id", "Activity ID", "Activity - ID", "Task ID",
                        "rapport_id"),
        "external_ids": ("external_ids",),
        "kind": ("Type", "Activity Type", "Activity - Type", "Task Type", "TaskSubtype", "kind",
                 "Activity type"),
        "subject": ("Subject", "Activity - Subject", "Title", "Call Title"),
        "text": ("Note", "Notes", "Body", "Description", "Comments", "Activity - Note",
                 "Activity note", "Call notes", "text"),
        "occurred_at": ("Date", "Activity Date", "ActivityDate", "Activity - Due date",
                        "Due Date", "Due date", "Timestamp", "occurred_at", "Activity date",
                        "Call Start Time"),
        "contact": ("Contact Name", "Contact", "Name", "Associated Contact",
                    "Activity - Contact person", "Person - Name"),
        "contact_email": ("Contact Email", "Email", "contact_email", "Person - Email"),
        "contact_ref": ("WhoId", "Contact ID", "ContactId", "Person - ID", "contact_rapport_id"),
        "company": ("Company", "Account Name", "Associated Company", "Company Name",
                    "Activity - Organization", "Organization - Name"),
        "company_ref": ("AccountId", "Account ID", "WhatId", "Organization - ID",
                        "company_rapport_id"),
        "deal_ref": ("Deal ID", "Opportunity ID", "Deal - ID", "deal_rapport_id"),
        "owner": ("Owner", "Activity owner", "Assigned To", "Assigned to user", "OwnerId",
                  "Activity - Assigned to user", "Created By", "rep"),
    },
    "purchases": {
        "external_id": ("Order ID", "Order Number", "Invoice ID", "Invoice Number",
                        "Transaction ID", "Reference", "reference", "rapport_id"),
        "contact": ("Customer Name", "Contact Name", "Contact", "Customer"),
        "contact_email": ("Email", "Customer Email", "Contact Email", "contact_email"),
        "contact_ref": ("Customer ID", "Contact ID", "ContactId", "contact_rapport_id"),
        "company": ("Company", "Account Name", "Company Name", "Organization"),
        "company_ref": ("AccountId", "Account ID", "Company ID", "company_rapport_id"),
        "occurred_at": ("Order Date", "Purchase Date", "Invoice Date", "Date", "Paid At",
                        "occurred_at"),
        "amount": ("Amount", "Total", "Order Total", "Grand Total", "Price", "amount"),
        "currency": ("Currency", "CurrencyIsoCode", "currency"),
        "quantity": ("Quantity", "Qty", "Items", "quantity"),
        "external_ids": ("external_ids",),
        "reference": ("order_reference",),  # Rapport's export: the order number it kept
        "deal_ref": ("Deal ID", "Deal - ID", "Opportunity ID", "deal_rapport_id"),
    },
}  # fmt: skip

# Fields the importer writes to a column; every other field of ALIASES is kept in custom
# fields under its own name.
COLUMN_FIELDS: dict[str, frozenset[str]] = {
    "contacts": frozenset(
        {"external_id", "external_ids", "name", "first_name", "last_name", "email", "phone",
         "company", "company_ref", "owner", "tags", "timezone", "created_at"}
    ),
    "companies": frozenset({"external_id", "external_ids", "name", "domain", "created_at"}),
    "deals": frozenset(
        {"external_id", "external_ids", "title", "amount", "currency", "stage", "status",
         "close_date", "expected_close", "closed_at", "close_reason", "contact",
         "contact_email", "contact_ref", "company", "company_ref", "owner", "created_at"}
    ),
    "activities": frozenset(
        {"external_id", "external_ids", "kind", "subject", "text", "occurred_at", "contact",
         "contact_email", "contact_ref", "company", "company_ref", "deal_ref", "owner"}
    ),
    "purchases": frozenset(ALIASES["purchases"]),
}  # fmt: skip

# Fields that may come from several columns (Pipedrive's "Email - Work", "Email - Home").
MULTI_FIELDS = frozenset({"email", "phone", "tags", "text"})

# A vendor's deal stage (any spelling) -> a Rapport stage, or "won"/"lost". Stages not listed
# here and not in the pipeline are reported; `--map "stage:Their stage=ours"` adds one.
STAGE_ALIASES: dict[str, str] = {
    "closed won": "won", "closedwon": "won", "won": "won", "deal won": "won",
    "closed lost": "lost", "closedlost": "lost", "lost": "lost", "deal lost": "lost",
    "appointment scheduled": "lead", "new": "lead", "prospecting": "lead",
    "lead in": "lead", "qualification": "qualified", "qualified to buy": "qualified",
    "qualified": "qualified", "contact made": "qualified", "needs analysis": "qualified",
    "presentation scheduled": "proposal", "proposal/price quote": "proposal",
    "proposal made": "proposal", "value proposition": "proposal", "id. decision makers": "proposal",
    "decision maker bought-in": "negotiation", "contract sent": "negotiation",
    "negotiation/review": "negotiation", "negotiations started": "negotiation",
}  # fmt: skip

# Activity types of other CRMs -> Rapport's kinds (anything else becomes a note).
KIND_ALIASES: dict[str, str] = {
    "call": "call", "phone call": "call", "logged call": "call", "meeting": "meeting",
    "lunch": "meeting", "demo": "meeting", "email": "email", "logged email": "email",
    "e-mail": "email", "note": "note", "task": "note", "deadline": "note", "message": "message",
    "sms": "message", "whatsapp": "message",
}  # fmt: skip

# Headers that give away which CRM wrote the file; the source names the external ids.
VENDOR_SIGNATURES: dict[str, tuple[str, ...]] = {
    # only headers no other vendor's export uses (after spelling is ignored)
    "rapport": ("rapport_id",),
    "hubspot": ("Record ID", "Create Date", "Lifecycle Stage", "Company Domain Name",
                "Deal Stage", "Associated Company", "Phone Number"),
    "salesforce": ("Contact ID", "AccountId", "OwnerId", "Created Date", "StageName",
                   "Opportunity Name", "Lead Source", "CurrencyIsoCode", "MobilePhone"),
    "pipedrive": ("Person - ID", "Organization - ID", "Deal - ID", "Activity - ID"),
    "zoho": ("Created Time", "Modified Time", "Closing Date"),
    "google": ("Given Name Yomi", "Group Membership", "E-mail 1 - Value", "Phone 1 - Value"),
    "outlook": ("E-mail 2 Address", "Business Fax", "Home Fax", "Assistant's Phone"),
}  # fmt: skip

# Fields without which a file is not that kind of record: a file of names, emails, phones
# and notes is people (with notes), not activities, although "Notes" is an activity
# column; activities need a date, a type or a subject, deals a title, amount or stage.
ANCHORS: dict[str, frozenset[str]] = {
    "contacts": frozenset({"email", "phone", "first_name", "last_name"}),
    "companies": frozenset({"domain", "industry", "employees"}),
    "deals": frozenset({"title", "amount", "stage", "status", "close_date"}),
    "activities": frozenset({"kind", "subject", "occurred_at"}),
    "purchases": frozenset({"amount", "occurred_at", "quantity"}),
}

CUSTOM_PREFIX = "custom: "  # export writes custom fields as "custom: <name>" columns
_NOT_KEY = re.compile(r"[^0-9a-z]+")


def header_key(header: str) -> str:
    """The spelling-free key a header is compared by: "First Name" -> "firstname"."""
    return _NOT_KEY.sub("", header.casefold())


def _build_index() -> dict[str, dict[str, str]]:
    index: dict[str, dict[str, str]] = {}
    for record_type, fields in ALIASES.items():
        keys: dict[str, str] = {}
        for field, headers in fields.items():
            for header in (field, *headers):
                keys.setdefault(header_key(header), field)
        index[record_type] = keys
    return index


ALIAS_INDEX = _build_index()


def field_for(record_type: str, header: str) -> str | None:
    return ALIAS_INDEX[record_type].get(header_key(header))


def known_fields(record_type: str) -> list[str]:
    return list(ALIASES[record_type])
