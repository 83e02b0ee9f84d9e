//! The cluster settings (`[cluster]`) and the built-in load generator (`[[traffic]]`): podcheck
//! extensions, snake_case like the rest of podcheck's own fields.

use serde::Deserialize;

use super::duration::{SpecDuration, TimeWindow};
use super::model::IntOrString;

/// The default `cluster.endpoint_propagation`: how long after the endpoints controller
/// changes a slice the proxy acts on it.
pub const DEFAULT_ENDPOINT_PROPAGATION: std::time::Duration = std::time::Duration::from_secs(1);

/// The default per-request timeout of a `[[traffic]]` item.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// The highest `rate` a traffic item may ask for (requests per second of spec time).
pub const MAX_RATE: f64 = 200.0;

/// The most requests one traffic item may send (rate × window).
pub const MAX_REQUESTS: u64 = 20_000;

/// What the cluster around the pods does (`[cluster]`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// How long after the endpoints controller changed an EndpointSlice the Service proxy
    /// acts on it (spec time; default 1s): the watch, kube-proxy's sync and the rule
    /// update together. During it the proxy still sends new connections to an endpoint
    /// that is already terminating.
    pub endpoint_propagation: Option<SpecDuration>,
}

impl ClusterSettings {
    /// The propagation delay in spec time.
    pub fn propagation(&self) -> std::time::Duration {
        self.endpoint_propagation
            .map_or(DEFAULT_ENDPOINT_PROPAGATION, |d| d.0)
    }
}

/// One load generator (`[[traffic]]`): requests at a steady rate to a Service port over a
/// window of spec time, each through the Service proxy.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// The name expectations use (`[[expect.traffic]] traffic = ...`); default the
    /// Service's name, or `traffic-N` (N its index) when two unnamed items target one
    /// Service.
    pub name: Option<String>,
    /// The Service (`[services.NAME]`).
    pub service: String,
    /// The Service port: its number or its name; may be left out when the Service has one.
    pub port: Option<IntOrString>,
    /// Requests per second of spec time (at most 200).
    pub rate: f64,
    /// When requests are sent, in spec time since the run began, e.g. `"5s..20s"`; both
    /// ends are needed.
    pub during: TimeWindow,
    /// Send HTTP GETs (a fresh connection each, `Connection: close`); without it each
    /// request is a TCP connect that counts as ok once established.
    pub http: Option<TrafficHttp>,
    /// How long one request may take before it counts as timed out (spec time; default 1s).
    pub timeout: Option<SpecDuration>,
}

/// The HTTP request a traffic item sends.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrafficHttp {
    /// The request path (default `/`).
    pub path: Option<String>,
}

impl Traffic {
    /// The request path of an HTTP item.
    pub fn path(&self) -> Option<&str> {
        self.http.as_ref().map(|h| h.path.as_deref().unwrap_or("/"))
    }

    /// The per-request timeout in spec time.
    pub fn request_timeout(&self) -> std::time::Duration {
        self.timeout.map_or(DEFAULT_REQUEST_TIMEOUT, |d| d.0)
    }
}

/// The names of the traffic items, in order: `name`, else the Service's name when no other
/// unnamed item targets it, else `traffic-N`.
pub fn traffic_names(items: &[Traffic]) -> Vec<String> {
    items
        .iter()
        .enumerate()
        .map(|(i, t)| match &t.name {
            Some(n) => n.clone(),
            None if items
                .iter()
                .filter(|o| o.name.is_none() && o.service == t.service)
                .count()
                == 1 =>
            {
                t.service.clone()
            }
            None => format!("traffic-{i}"),
        })
        .collect()
}

/// The send times of a traffic item in spec time: `from`, then one every `1/rate`, while
/// before or at `to`; bounded by [`MAX_REQUESTS`].
pub fn send_times(t: &Traffic) -> Vec<std::time::Duration> {
    let from = t.during.from.unwrap_or_default();
    let Some(to) = t.during.to else {
        return Vec::new();
    };
    if !(t.rate.is_finite() && t.rate > 0.0) {
        return Vec::new();
    }
    let step = 1.0 / t.rate;
    // A tiny rate makes a step beyond any Duration: that ends the schedule, not the run.
    (0..MAX_REQUESTS)
        .map_while(|k| std::time::Duration::try_from_secs_f64(step * k as f64).ok())
        .map(|d| from.saturating_add(d))
        .take_while(|at| *at <= to)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(rate: f64, during: &str) -> Traffic {
        Traffic {
            name: None,
            service: "web".into(),
            port: None,
            rate,
            during: TimeWindow::parse(during).expect("window"),
            http: None,
            timeout: None,
        }
    }

    #[test]
    fn requests_are_spread_evenly_over_the_window_ends_included() {
        let ts = send_times(&item(4.0, "2s..3s"));
        let ms: Vec<u128> = ts.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [2000, 2250, 2500, 2750, 3000]);
        assert!(send_times(&item(0.0, "2s..3s")).is_empty());
        assert_eq!(send_times(&item(1e-300, "2s..3s")).len(), 1);
        assert_eq!(
            send_times(&item(200.0, "0s..1000s")).len() as u64,
            MAX_REQUESTS
        );
    }

    #[test]
    fn names_default_to_the_service_unless_it_has_two_items() {
        let mut a = item(1.0, "0s..1s");
        let b = item(1.0, "0s..1s");
        assert_eq!(traffic_names(std::slice::from_ref(&a)), ["web"]);
        assert_eq!(
            traffic_names(&[a.clone(), b.clone()]),
            ["traffic-0", "traffic-1"]
        );
        a.name = Some("main".into());
        assert_eq!(traffic_names(&[a, b]), ["main", "web"]);
    }
}
