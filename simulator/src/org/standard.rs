//! The embedded default org's schema: Account, Contact, Opportunity, Lead, Case, User with realistic
//! fields and key prefixes, the custom fields the scenarios use, and the platform event
//! `Order_Event__e` (design.md §3).

use super::schema::{FieldDef, FieldType, ObjectDef, ObjectKind, PicklistValue, Schema};
use super::value::Value;

/// A small builder so the field tables below read like a setup screen.
struct F(FieldDef);

impl F {
    fn new(name: &str, t: FieldType) -> F {
        F(FieldDef::new(name, t))
    }
    fn s(name: &str, len: u32) -> F {
        let mut f = F::new(name, FieldType::String);
        f.0.length = len;
        f
    }
    fn len(mut self, l: u32) -> F {
        self.0.length = l;
        self
    }
    fn required(mut self) -> F {
        self.0.nillable = false;
        self
    }
    fn name_field(mut self) -> F {
        self.0.name_field = true;
        self.0.id_lookup = true;
        self
    }
    fn ext_id(mut self) -> F {
        self.0.external_id = true;
        self.0.id_lookup = true;
        self
    }
    fn unique(mut self) -> F {
        self.0.unique = true;
        self
    }
    fn read_only(mut self) -> F {
        self.0.createable = false;
        self.0.updateable = false;
        self
    }
    fn create_only(mut self) -> F {
        self.0.updateable = false;
        self
    }
    fn calculated(mut self) -> F {
        self.0.calculated = true;
        self.read_only()
    }
    fn defaulted(mut self, v: Value) -> F {
        self.0.defaulted_on_create = true;
        self.0.default_value = Some(v);
        self
    }
    fn picklist(mut self, values: &[&str]) -> F {
        self.0.picklist = values
            .iter()
            .map(|v| PicklistValue {
                value: v.to_string(),
                label: v.to_string(),
                active: true,
                default: false,
            })
            .collect();
        self
    }
    fn restricted(mut self) -> F {
        self.0.restricted_picklist = true;
        self
    }
    fn num(mut self, precision: u32, scale: u32) -> F {
        self.0.precision = precision;
        self.0.scale = scale;
        self
    }
    fn reference(mut self, to: &[&str], rel: &str, child_rel: Option<&str>) -> F {
        self.0.reference_to = to.iter().map(|s| s.to_string()).collect();
        self.0.relationship_name = Some(rel.to_string());
        self.0.child_relationship_name = child_rel.map(str::to_string);
        self
    }
    fn label(mut self, l: &str) -> F {
        self.0.label = l.to_string();
        self
    }
    fn cascade(mut self) -> F {
        self.0.cascade_delete = true;
        self
    }
}

/// Id, audit fields and IsDeleted: present on every object.
fn system_fields(owner: bool) -> Vec<F> {
    let mut v = vec![
        F::new("Id", FieldType::Id).label("Record ID"),
        F::new("IsDeleted", FieldType::Boolean)
            .read_only()
            .label("Deleted"),
        F::new("CreatedDate", FieldType::Datetime)
            .required()
            .read_only(),
        F::new("CreatedById", FieldType::Reference)
            .required()
            .read_only()
            .reference(&["User"], "CreatedBy", None),
        F::new("LastModifiedDate", FieldType::Datetime)
            .required()
            .read_only(),
        F::new("LastModifiedById", FieldType::Reference)
            .required()
            .read_only()
            .reference(&["User"], "LastModifiedBy", None),
        F::new("SystemModstamp", FieldType::Datetime)
            .required()
            .read_only(),
    ];
    if owner {
        let mut o = F::new("OwnerId", FieldType::Reference)
            .reference(&["User"], "Owner", None)
            .label("Owner ID");
        o.0.nillable = false;
        o.0.defaulted_on_create = true;
        v.push(o);
    }
    v
}

fn object(name: &str, prefix: &str, kind: ObjectKind, owner: bool, fields: Vec<F>) -> ObjectDef {
    let mut all = system_fields(owner);
    all.extend(fields);
    ObjectDef::new(name, prefix, kind, all.into_iter().map(|f| f.0).collect())
}

const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];
const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
const RATINGS: &[&str] = &["Hot", "Warm", "Cold"];

fn address(prefix: &str) -> Vec<F> {
    vec![
        F::new(&format!("{prefix}Street"), FieldType::Textarea).len(255),
        F::s(&format!("{prefix}City"), 40),
        F::s(&format!("{prefix}State"), 80),
        F::s(&format!("{prefix}PostalCode"), 20),
        F::s(&format!("{prefix}Country"), 80),
    ]
}

pub fn account() -> ObjectDef {
    let mut f = vec![
        F::s("Name", 255)
            .required()
            .name_field()
            .label("Account Name"),
        F::new("Type", FieldType::Picklist).picklist(&[
            "Prospect",
            "Customer - Direct",
            "Customer - Channel",
            "Channel Partner / Reseller",
            "Installation Partner",
            "Technology Partner",
            "Other",
        ]),
        F::new("ParentId", FieldType::Reference).reference(
            &["Account"],
            "Parent",
            Some("ChildAccounts"),
        ),
    ];
    f.extend(address("Billing"));
    f.extend(address("Shipping"));
    f.extend([
        F::new("Phone", FieldType::Phone),
        F::new("Fax", FieldType::Phone),
        F::s("AccountNumber", 40),
        F::new("Website", FieldType::Url),
        F::new("Industry", FieldType::Picklist).picklist(INDUSTRIES),
        F::new("AnnualRevenue", FieldType::Currency).num(18, 0),
        {
            let mut n = F::new("NumberOfEmployees", FieldType::Int).label("Employees");
            n.0.digits = 8;
            n
        },
        F::new("Ownership", FieldType::Picklist).picklist(&[
            "Public",
            "Private",
            "Subsidiary",
            "Other",
        ]),
        F::new("Description", FieldType::Textarea),
        F::new("Rating", FieldType::Picklist).picklist(RATINGS),
        F::s("Site", 80).label("Account Site"),
        F::new("LastActivityDate", FieldType::Date).read_only(),
        F::s("External_Id__c", 80).ext_id().label("External ID"),
        F::new("Region__c", FieldType::Picklist)
            .picklist(&["AMER", "EMEA", "APAC", "LATAM"])
            .restricted(),
        F::new("Credit_Limit__c", FieldType::Currency).num(16, 2),
    ]);
    object("Account", "001", ObjectKind::Standard, true, f)
}

pub fn contact() -> ObjectDef {
    let mut f = vec![
        // Deleting an Account deletes its Contacts, and a Contact write locks its Account.
        F::new("AccountId", FieldType::Reference)
            .reference(&["Account"], "Account", Some("Contacts"))
            .cascade(),
        F::s("LastName", 80).required(),
        F::s("FirstName", 40),
        F::new("Salutation", FieldType::Picklist).picklist(&["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]),
        F::s("Name", 121)
            .name_field()
            .calculated()
            .label("Full Name"),
        F::new("Email", FieldType::Email),
        F::new("Phone", FieldType::Phone).label("Business Phone"),
        F::new("MobilePhone", FieldType::Phone),
        F::s("Title", 128),
        F::s("Department", 80),
        F::new("LeadSource", FieldType::Picklist).picklist(LEAD_SOURCES),
        F::new("Birthdate", FieldType::Date),
        F::new("HasOptedOutOfEmail", FieldType::Boolean).label("Email Opt Out"),
        F::new("Description", FieldType::Textarea),
        F::s("External_Id__c", 80).ext_id().label("External ID"),
    ];
    f.extend(address("Mailing"));
    object("Contact", "003", ObjectKind::Standard, true, f)
}

pub fn opportunity() -> ObjectDef {
    let f = vec![
        F::new("AccountId", FieldType::Reference).reference(
            &["Account"],
            "Account",
            Some("Opportunities"),
        ),
        F::s("Name", 120).required().name_field(),
        F::new("StageName", FieldType::Picklist)
            .required()
            .picklist(&[
                "Prospecting",
                "Qualification",
                "Needs Analysis",
                "Value Proposition",
                "Id. Decision Makers",
                "Perception Analysis",
                "Proposal/Price Quote",
                "Negotiation/Review",
                "Closed Won",
                "Closed Lost",
            ])
            .label("Stage"),
        F::new("Amount", FieldType::Currency).num(18, 2),
        F::new("CloseDate", FieldType::Date).required(),
        F::new("Probability", FieldType::Percent).num(3, 0),
        F::new("Type", FieldType::Picklist).picklist(&[
            "Existing Customer - Upgrade",
            "Existing Customer - Replacement",
            "Existing Customer - Downgrade",
            "New Customer",
        ]),
        F::new("LeadSource", FieldType::Picklist).picklist(LEAD_SOURCES),
        F::new("IsClosed", FieldType::Boolean)
            .read_only()
            .label("Closed"),
        F::new("IsWon", FieldType::Boolean).read_only().label("Won"),
        F::s("NextStep", 255),
        F::new("Description", FieldType::Textarea),
        F::s("External_Id__c", 80).ext_id().label("External ID"),
    ];
    object("Opportunity", "006", ObjectKind::Standard, true, f)
}

pub fn lead() -> ObjectDef {
    let f = vec![
        F::s("LastName", 80).required(),
        F::s("FirstName", 40),
        F::s("Name", 121)
            .name_field()
            .calculated()
            .label("Full Name"),
        F::s("Company", 255).required(),
        F::new("Status", FieldType::Picklist)
            .required()
            .picklist(&[
                "Open - Not Contacted",
                "Working - Contacted",
                "Closed - Converted",
                "Closed - Not Converted",
            ])
            .defaulted(Value::str("Open - Not Contacted")),
        F::new("Email", FieldType::Email),
        F::new("Phone", FieldType::Phone),
        F::s("Title", 128),
        F::new("Industry", FieldType::Picklist).picklist(INDUSTRIES),
        F::new("LeadSource", FieldType::Picklist).picklist(LEAD_SOURCES),
        F::new("Rating", FieldType::Picklist).picklist(RATINGS),
        F::new("AnnualRevenue", FieldType::Currency).num(18, 0),
        F::new("NumberOfEmployees", FieldType::Int),
        F::new("IsConverted", FieldType::Boolean)
            .read_only()
            .label("Converted"),
        F::s("City", 40),
        F::s("State", 80),
        F::s("Country", 80),
        F::new("Description", FieldType::Textarea),
        F::s("External_Id__c", 80).ext_id().label("External ID"),
    ];
    object("Lead", "00Q", ObjectKind::Standard, true, f)
}

pub fn case() -> ObjectDef {
    let mut number = F::s("CaseNumber", 30).read_only().name_field();
    number.0.auto_number = true;
    let f = vec![
        number,
        F::new("AccountId", FieldType::Reference).reference(&["Account"], "Account", Some("Cases")),
        F::new("ContactId", FieldType::Reference).reference(&["Contact"], "Contact", Some("Cases")),
        F::s("Subject", 255),
        F::new("Description", FieldType::Textarea),
        F::new("Status", FieldType::Picklist)
            .picklist(&["New", "Working", "Escalated", "Closed"])
            .defaulted(Value::str("New")),
        F::new("Priority", FieldType::Picklist)
            .picklist(&["High", "Medium", "Low"])
            .defaulted(Value::str("Medium")),
        F::new("Origin", FieldType::Picklist).picklist(&["Phone", "Email", "Web"]),
        F::new("Type", FieldType::Picklist).picklist(&[
            "Mechanical",
            "Electrical",
            "Electronic",
            "Structural",
            "Other",
        ]),
        F::new("Reason", FieldType::Picklist).picklist(&[
            "Installation",
            "Equipment Complexity",
            "Performance",
            "Breakdown",
            "Equipment Design",
            "Feedback",
            "Other",
        ]),
        F::new("IsClosed", FieldType::Boolean)
            .read_only()
            .label("Closed"),
        F::new("ClosedDate", FieldType::Datetime).read_only(),
        F::new("SuppliedEmail", FieldType::Email).label("Web Email"),
        F::s("External_Id__c", 80).ext_id().label("External ID"),
    ];
    object("Case", "500", ObjectKind::Standard, true, f)
}

pub fn user() -> ObjectDef {
    let f = vec![
        F::s("Username", 80).required().unique().create_only(),
        F::s("LastName", 80).required(),
        F::s("FirstName", 40),
        F::s("Name", 121)
            .name_field()
            .calculated()
            .label("Full Name"),
        F::new("Email", FieldType::Email).required(),
        F::s("Alias", 8).required(),
        F::s("CommunityNickname", 40),
        F::new("IsActive", FieldType::Boolean)
            .defaulted(Value::Bool(true))
            .label("Active"),
        F::new("TimeZoneSidKey", FieldType::Picklist)
            .picklist(&[
                "America/Los_Angeles",
                "America/New_York",
                "Europe/London",
                "GMT",
            ])
            .defaulted(Value::str("GMT"))
            .label("Time Zone"),
        F::new("LocaleSidKey", FieldType::Picklist)
            .picklist(&["en_US", "en_GB", "de_DE", "fr_FR"])
            .defaulted(Value::str("en_US"))
            .label("Locale"),
        F::new("LanguageLocaleKey", FieldType::Picklist)
            .picklist(&["en_US", "de", "fr"])
            .defaulted(Value::str("en_US"))
            .label("Language"),
        F::new("EmailEncodingKey", FieldType::Picklist)
            .picklist(&["UTF-8", "ISO-8859-1"])
            .defaulted(Value::str("UTF-8"))
            .label("Email Encoding"),
        F::s("FederationIdentifier", 512).label("SAML Federation ID"),
        F::s("Title", 80),
        F::s("Department", 80),
    ];
    object("User", "005", ObjectKind::Standard, false, f)
}

pub fn order_event() -> ObjectDef {
    let f = vec![
        F::s("Order_Number__c", 40).label("Order Number"),
        F::s("Status__c", 40).label("Status"),
        F::new("Amount__c", FieldType::Double)
            .num(16, 2)
            .label("Amount"),
        F::s("Account_External_Id__c", 80).label("Account External ID"),
        F::s("EventUuid", 36).read_only().label("Event UUID"),
        F::s("ReplayId", 255).read_only().label("Replay ID"),
    ];
    // Platform events carry only CreatedDate/CreatedById of the audit fields.
    let mut all: Vec<FieldDef> = vec![FieldDef::new("CreatedDate", FieldType::Datetime), {
        let mut c = FieldDef::new("CreatedById", FieldType::Reference);
        c.reference_to = vec!["User".into()];
        c
    }];
    for f in &mut all {
        f.createable = false;
        f.updateable = false;
    }
    all.extend(f.into_iter().map(|f| f.0));
    ObjectDef::new("Order_Event__e", "e00", ObjectKind::PlatformEvent, all)
}

/// The default org's schema.
pub fn default_schema() -> Schema {
    Schema::new(vec![
        account(),
        contact(),
        opportunity(),
        lead(),
        case(),
        user(),
        order_event(),
    ])
}
