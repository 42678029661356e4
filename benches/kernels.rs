//! Criterion micro-benchmarks of the engine's kernels on synthetic in-memory Arrow data:
//! ingestion (`read_joinable`), the per-customer index (`CustomerIndex::build`), the SPEC §3
//! joins (`join_contacts`) and the weekly scorecard without and with a channel group.
//!
//! ```text
//! cargo bench --bench kernels                  # all, 100k and 1M contacts
//! cargo bench --bench kernels -- joins/        # a subset (criterion filter)
//! RAYON_NUM_THREADS=1 cargo bench --bench kernels
//! ```
//!
//! The data (a small deterministic generator, no dependencies): one year, skewed customer
//! activity, two orders per contact, ~3% anonymous contacts, about a third of contacts
//! following an order of the same customer; the KPI columns the Python benchmark reads.
// A benchmark builds its own fixed data; a failure there is a bug to see at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use supportkpi::kernels::{join_contacts, read_joinable, CustomerIndex, Windows};
use supportkpi::{scorecard, Config, OnInvalid, Options, TableInput};

const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3_600 * SECOND;
const DAY: i64 = 24 * HOUR;
/// 2024-01-01 00:00 UTC, a Monday.
const START: i64 = 1_704_067_200 * SECOND;
const SIZES: [usize; 2] = [100_000, 1_000_000];

const CHANNELS: [&str; 6] = ["email", "chat", "phone", "social", "sms", "self_service"];
const INTENTS: [&str; 10] = [
    "order_tracking",
    "shipping_info",
    "payment_issue",
    "promo_confusion",
    "returns",
    "product_question",
    "cancellation",
    "damaged_item",
    "account",
    "other",
];

/// SplitMix64: a tiny, fast, deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A skewed customer index in [0, n): a few customers are very active.
    fn customer(&mut self, n: u64) -> i64 {
        let u = self.unit();
        (u * u * u * n as f64) as i64
    }

    /// A time in the year, whole seconds.
    fn time(&mut self) -> i64 {
        START + self.below(366 * 86_400) as i64 * SECOND
    }

    /// A duration with a long tail around `median` µs, whole seconds (at least 1 s).
    fn delay(&mut self, median: f64) -> i64 {
        let u = self.unit().max(1e-12);
        let d = median * (u / (1.0 - u + 1e-12)).powf(0.8);
        ((d / SECOND as f64).round().max(1.0) as i64).min(60 * 86_400) * SECOND
    }
}

fn table(name: &'static str, columns: Vec<(&str, ArrayRef)>) -> TableInput {
    TableInput::from_columns(name, columns).expect("valid batch")
}

fn timestamps(values: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

/// Contacts and orders (n contacts, 2n orders), deterministic for a given n.
fn synthetic(n: usize) -> (TableInput, TableInput) {
    let mut rng = Rng(0x5EED ^ n as u64);
    let customers = (n as u64 * 9 / 20).max(1);
    let n_orders = 2 * n;

    let mut order_customer = Vec::with_capacity(n_orders);
    let mut order_time = Vec::with_capacity(n_orders);
    for _ in 0..n_orders {
        let guest = rng.unit() < 0.03;
        order_customer.push((!guest).then(|| 1_000_000 + 7 * rng.customer(customers)));
        order_time.push(rng.time());
    }
    let revenue: Vec<f64> = (0..n_orders)
        .map(|_| ((5.0 + 120.0 * rng.unit() * rng.unit()) * 100.0).round() / 100.0)
        .collect();

    let mut customer = Vec::with_capacity(n);
    let mut created = Vec::with_capacity(n);
    let mut channel = Vec::with_capacity(n);
    let mut intent = Vec::with_capacity(n);
    let mut handled_by = Vec::with_capacity(n);
    let mut escalated = Vec::with_capacity(n);
    let mut first_response = Vec::with_capacity(n);
    let mut resolved = Vec::with_capacity(n);
    let mut touches = Vec::with_capacity(n);
    let mut csat = Vec::with_capacity(n);
    let mut cost = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = rng.unit();
        let (cust, t) = if kind < 0.03 {
            (None, rng.time())
        } else if kind < 0.6 {
            // After an order of the same customer.
            let o = rng.below(n_orders as u64) as usize;
            match order_customer[o] {
                Some(c) => (Some(c), order_time[o] + rng.delay(2.5 * DAY as f64)),
                None => (None, order_time[o]),
            }
        } else {
            (Some(1_000_000 + 7 * rng.customer(customers)), rng.time())
        };
        customer.push(cust);
        created.push(t);
        let ch = rng.below(CHANNELS.len() as u64) as usize;
        channel.push(Some(CHANNELS[ch]));
        intent.push((rng.unit() >= 0.012).then(|| INTENTS[rng.below(10) as usize]));
        let line = if ch == 5 {
            "self_service"
        } else if rng.unit() < 0.4 {
            "ai"
        } else {
            "human"
        };
        handled_by.push(Some(line));
        let esc = line != "human" && rng.unit() < 0.25;
        escalated.push(Some(esc));
        let human = line == "human" || esc;
        let reply = if human { 30.0 * 60.0 } else { 20.0 } * SECOND as f64;
        first_response.push((line != "self_service" || esc).then(|| t + rng.delay(reply)));
        let work = if human {
            6.0 * HOUR as f64
        } else {
            600.0 * SECOND as f64
        };
        resolved.push((rng.unit() < 0.9).then(|| t + rng.delay(work)));
        touches.push((rng.unit() >= 0.05).then(|| (rng.below(4) as i64 - 1).max(1)));
        csat.push((rng.unit() < 0.28).then(|| 1.0 + rng.below(5) as f64));
        cost.push(Some(if human { 6.5 } else { 0.9 }));
    }

    let contacts = table(
        "contacts",
        vec![
            (
                "contact_id",
                Arc::new(Int64Array::from_iter_values(0..n as i64)) as ArrayRef,
            ),
            ("customer_id", Arc::new(Int64Array::from(customer))),
            (
                "created_at",
                timestamps(created.into_iter().map(Some).collect()),
            ),
            ("channel", Arc::new(StringArray::from(channel))),
            ("intent", Arc::new(StringArray::from(intent))),
            ("handled_by", Arc::new(StringArray::from(handled_by))),
            ("escalated", Arc::new(BooleanArray::from(escalated))),
            ("first_response_at", timestamps(first_response)),
            ("resolved_at", timestamps(resolved)),
            ("touches", Arc::new(Int64Array::from(touches))),
            ("csat", Arc::new(Float64Array::from(csat))),
            ("cost", Arc::new(Float64Array::from(cost))),
        ],
    );
    let orders = table(
        "orders",
        vec![
            (
                "order_id",
                Arc::new(Int64Array::from_iter_values(0..n_orders as i64)) as ArrayRef,
            ),
            ("customer_id", Arc::new(Int64Array::from(order_customer))),
            (
                "created_at",
                timestamps(order_time.into_iter().map(Some).collect()),
            ),
            ("revenue", Arc::new(Float64Array::from(revenue))),
        ],
    );
    (contacts, orders)
}

const WINDOWS: Windows = Windows {
    recovery: 7 * DAY,
    repeat: 14 * DAY,
    recontact: 48 * HOUR,
};

fn kernels(c: &mut Criterion) {
    let config = Config::default();
    let checks = config.value_checks().expect("default checks");
    for &n in &SIZES {
        let (contacts, orders) = synthetic(n);
        let data = read_joinable(&contacts, &orders, &checks, OnInvalid::Raise)
            .expect("valid synthetic data");
        let (index, columns) = CustomerIndex::build(&data.contacts, &data.orders, data.customers);

        let mut group = c.benchmark_group("ingest");
        group.throughput(Throughput::Elements(n as u64));
        group.sample_size(10);
        group.bench_with_input(BenchmarkId::new("read_joinable", n), &n, |b, _| {
            b.iter(|| {
                read_joinable(
                    black_box(&contacts),
                    black_box(&orders),
                    &checks,
                    OnInvalid::Raise,
                )
            })
        });
        group.finish();

        let mut group = c.benchmark_group("joins");
        group.throughput(Throughput::Elements(n as u64));
        group.sample_size(20);
        group.bench_with_input(BenchmarkId::new("index_build", n), &n, |b, _| {
            b.iter(|| CustomerIndex::build(&data.contacts, &data.orders, black_box(data.customers)))
        });
        group.bench_with_input(BenchmarkId::new("join_contacts", n), &n, |b, _| {
            b.iter(|| {
                join_contacts(
                    &data.contacts,
                    &data.orders,
                    black_box(&index),
                    &columns,
                    WINDOWS,
                )
            })
        });
        group.finish();

        let mut group = c.benchmark_group("scorecard");
        group.throughput(Throughput::Elements(n as u64));
        group.sample_size(10);
        let weekly = Options::default();
        let by_channel = Options {
            group_by: vec!["channel".to_owned()],
            ..Options::default()
        };
        for options in [&weekly, &by_channel] {
            scorecard(&contacts, &orders, None, None, options).expect("the scorecard computes");
        }
        group.bench_with_input(BenchmarkId::new("week", n), &n, |b, _| {
            b.iter(|| scorecard(black_box(&contacts), &orders, None, None, &weekly))
        });
        group.bench_with_input(BenchmarkId::new("week_by_channel", n), &n, |b, _| {
            b.iter(|| scorecard(black_box(&contacts), &orders, None, None, &by_channel))
        });
        group.finish();
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
