//! Roles of people and scopes of integration keys.

use std::fmt;
use std::str::FromStr;

use crate::values::ValueError;

/// What a user is in the organisation; decides what they may do and see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Works their own leads and interests.
    Manager,
    /// Heads a department: sees its work, configures scenarios, approves losses.
    Head,
    /// Registers payments; sees orders, invoices and payments.
    Accountant,
    /// Runs the system: users, departments, keys, settings.
    Admin,
    /// A service account acting for an external system.
    Integration,
    /// Purchasing: records supplier orders and receipts made for customer orders.
    Procurement,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Manager, Role::Head, Role::Accountant, Role::Admin, Role::Integration, Role::Procurement];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Head => "head",
            Role::Accountant => "accountant",
            Role::Admin => "admin",
            Role::Integration => "integration",
            Role::Procurement => "procurement",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValueError::new("unknown_role", format!("unknown role {s:?}")))
    }
}

/// What an integration's API key may do. A key acts only within its scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    UsersRead,
    DepartmentsRead,
    LeadsRead,
    LeadsWrite,
    ClientsRead,
    ClientsWrite,
    InterestsRead,
    InterestsWrite,
    TasksRead,
    TasksWrite,
    OrdersRead,
    OrdersWrite,
    PaymentsRead,
    PaymentsWrite,
    ShipmentsRead,
    ShipmentsWrite,
    PurchasingRead,
    PurchasingWrite,
}

impl Scope {
    pub const ALL: [Scope; 18] = [
        Scope::UsersRead,
        Scope::DepartmentsRead,
        Scope::LeadsRead,
        Scope::LeadsWrite,
        Scope::ClientsRead,
        Scope::ClientsWrite,
        Scope::InterestsRead,
        Scope::InterestsWrite,
        Scope::TasksRead,
        Scope::TasksWrite,
        Scope::OrdersRead,
        Scope::OrdersWrite,
        Scope::PaymentsRead,
        Scope::PaymentsWrite,
        Scope::ShipmentsRead,
        Scope::ShipmentsWrite,
        Scope::PurchasingRead,
        Scope::PurchasingWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::UsersRead => "users:read",
            Scope::DepartmentsRead => "departments:read",
            Scope::LeadsRead => "leads:read",
            Scope::LeadsWrite => "leads:write",
            Scope::ClientsRead => "clients:read",
            Scope::ClientsWrite => "clients:write",
            Scope::InterestsRead => "interests:read",
            Scope::InterestsWrite => "interests:write",
            Scope::TasksRead => "tasks:read",
            Scope::TasksWrite => "tasks:write",
            Scope::OrdersRead => "orders:read",
            Scope::OrdersWrite => "orders:write",
            Scope::PaymentsRead => "payments:read",
            Scope::PaymentsWrite => "payments:write",
            Scope::ShipmentsRead => "shipments:read",
            Scope::ShipmentsWrite => "shipments:write",
            Scope::PurchasingRead => "purchasing:read",
            Scope::PurchasingWrite => "purchasing:write",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValueError::new("unknown_scope", format!("unknown scope {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().ok(), Some(scope));
        }
        assert!("owner".parse::<Role>().is_err());
        assert!("orders:delete".parse::<Scope>().is_err());
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn roles_and_scopes_print_as_their_words() {
        for r in Role::ALL {
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(Scope::PurchasingRead.to_string(), "purchasing:read");
    }
}
