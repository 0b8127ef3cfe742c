//! Simulated GDAP: the partner's delegated admin relationships and their
//! access assignments.

use serde_json::{Value, json};

use super::*;

impl World {
    /// A relationship's access assignments: one active assignment of all
    /// its roles to the partner's "Autopilot admins" group when the world
    /// says they are assigned, none otherwise.
    pub(super) fn list_access_assignments(
        &mut self,
        index: usize,
        id: &str,
        req: &SimRequest,
    ) -> SimResponse {
        self.count("graph.list-gdap-assignments");
        let now = self.clock.wall();
        let spec = &self.tenants[index].spec;
        let found = spec
            .relationships
            .iter()
            .enumerate()
            .find(|(n, r)| relationship_json(&spec.id, *n, r, now)["id"] == id);
        let Some((_, r)) = found else {
            return graph_error(404, "ResourceNotFound", "Resource not found.", &self.request_id());
        };
        let all: Vec<Value> = if r.assigned {
            let roles: Vec<Value> = r.roles.iter().map(|id| json!({"roleDefinitionId": id})).collect();
            vec![json!({
                "@odata.type": "#microsoft.graph.delegatedAdminAccessAssignment",
                "id": "a0000000-0000-4000-8000-000000000001",
                "status": "active",
                "accessContainer": {"accessContainerId": "9b6f3e1a-0000-4000-8000-00000000ad01", "accessContainerType": "securityGroup"},
                "accessDetails": {"unifiedRoles": roles}
            })]
        } else {
            Vec::new()
        };
        self.page(&req.path, req.query.as_deref(), all)
    }

    pub(super) fn list_relationships(&mut self, index: usize, req: &SimRequest) -> SimResponse {
        self.count("graph.list-gdap");
        let now = self.clock.wall();
        let spec = &self.tenants[index].spec;
        let all: Vec<Value> = spec
            .relationships
            .iter()
            .enumerate()
            .map(|(n, r)| relationship_json(&spec.id, n, r, now))
            .collect();
        self.page(&req.path, req.query.as_deref(), all)
    }
}

impl World {
    /// `GET /contracts` in the partner's tenant: a contract per customer,
    /// with its default verified domain, for every customer of its
    /// relationships that the world holds.
    pub(super) fn contracts(&mut self, index: usize, req: &SimRequest) -> SimResponse {
        self.count("graph.list-contracts");
        let customers: Vec<String> = self.tenants[index]
            .spec
            .relationships
            .iter()
            .filter_map(|r| r.customer_tenant_id.clone())
            .collect();
        let mut all = Vec::new();
        for (n, t) in self.tenants.iter().enumerate() {
            if !customers.contains(&t.spec.id)
                || all.iter().any(|c: &Value| c["customerId"] == t.spec.id.as_str())
            {
                continue;
            }
            all.push(json!({
                "id": format!("00000000-0000-4000-8000-{n:012}"),
                "contractType": "ResellerPartner",
                "customerId": t.spec.id,
                "defaultDomainName": t.spec.domains.first(),
                "displayName": t.spec.display_name,
            }));
        }
        self.page(&req.path, req.query.as_deref(), all)
    }
}

/// A GDAP relationship's JSON as Graph lists it.
pub(super) fn relationship_json(
    partner: &str,
    n: usize,
    r: &RelationshipSpec,
    now: jiff::Timestamp,
) -> Value {
    let end = r
        .end_in_days
        .map(|d| (now + jiff::SignedDuration::from_hours(24 * d)).to_string());
    let kind = if r.reseller {
        "#microsoft.graph.resellerDelegatedAdminRelationship"
    } else {
        "#microsoft.graph.delegatedAdminRelationship"
    };
    let roles: Vec<Value> = r.roles.iter().map(|id| json!({"roleDefinitionId": id})).collect();
    json!({
        "@odata.type": kind,
        "id": format!("{n:08x}-0000-4000-8000-{n:012x}-{partner}"),
        "displayName": r.display_name,
        "duration": "P730D",
        "customer": match (&r.customer_tenant_id, &r.customer_name) {
            (None, None) => Value::Null,
            (id, name) => json!({"tenantId": id, "displayName": name}),
        },
        "accessDetails": {"unifiedRoles": roles},
        "status": r.status,
        "autoExtendDuration": r.auto_extend,
        "createdDateTime": "2025-01-10T11:24:42.3148266Z",
        "lastModifiedDateTime": "2025-01-10T11:26:44.9941884Z",
        "activatedDateTime": if end.is_some() { json!("2025-01-10T11:26:44.9941884Z") } else { Value::Null },
        "endDateTime": end
    })
}
