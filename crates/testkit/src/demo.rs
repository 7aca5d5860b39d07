//! The demo organisations as the seed creates them (`spartex_demo::seed`): who signs in, and
//! the projects they see. Every demo user's password in a kit server is [`PASSWORD`].

/// Every demo user's password in a server the kit starts.
pub const PASSWORD: &str = "testkit-demo-password";

/// Acme Ads: one user of each role, three projects.
pub const OWNER: &str = "owner@acme.test";
pub const MANAGER: &str = "manager@acme.test";
pub const ONCALL: &str = "oncall@acme.test";
pub const VIEWER: &str = "viewer@acme.test";

/// Northwind Outfitters, the other tenant: one project.
pub const NORTHWIND_OWNER: &str = "owner@northwind.test";
pub const NORTHWIND_ONCALL: &str = "oncall@northwind.test";

/// Acme's projects.
pub const SPRING: &str = "Spring Sale 2027 — Paid Social";
pub const LAUNCH: &str = "Lumen X1 Launch";
pub const NEWSLETTER: &str = "The Weekly Edit — Newsletter";
/// Northwind's project.
pub const AUTUMN: &str = "Autumn Catalogue Push";
