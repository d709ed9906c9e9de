//! Criterion benchmarks of the znode tree at a million znodes, through the
//! engine's own paths: `prep` + `apply` for writes, `ensemble::read` for reads,
//! and the snapshot calls (`clone`, `to_snapshot_bytes`, `from_snapshot_bytes`).
//!
//! Criterion measures time only, so the bench also prints what it cannot: heap
//! bytes per znode (from the counting global allocator below) and snapshot
//! bytes per znode. See BENCHMARKS.md for figures.
//!
//! Run: `cargo bench --bench tree` (filter as usual: `cargo bench --bench tree -- read/`).
//! In criterion's test mode (`cargo test --benches`, or `-- --test`) the tree
//! has 10 × 10 children instead of 1000 × 1000, so that check stays quick.

use criterion::{black_box, Criterion, SamplingMode, Throughput};
use ensemble::tree::Data;
use ensemble::{acl, prep, read, Applied, CreateMode, DataTree, OpResult, PrepConfig, PrepContext, ReadOp, SessionId, WriteOp, Zxid};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn main() {
    // criterion 0.5 asks for clap without its "help" feature, so unless some
    // other dependency turns it on, `--help` is rejected as an unexpected
    // argument (bheisler/criterion.rs#702). Answer it here in every build.
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return;
    }
    let scale = Scale::from_args();
    let mut criterion = Criterion::default().configure_from_args();
    // Built on first use, so `--help`, `--list` and filters that match nothing
    // do not pay the seconds a million creates take.
    let mut fixture: Option<Fixture> = None;
    // Writes go last: the copy-on-write ones move map chunks and keys to new
    // allocations all over the heap, which made a later full-tree serialize
    // two to three times slower. Snapshots and reads see the tree as built.
    bench_snapshots(&mut criterion, &mut fixture, scale);
    bench_reads(&mut criterion, &mut fixture, scale);
    bench_writes(&mut criterion, &mut fixture, scale);
    criterion.final_summary();
}

/// Snapshots of the whole 1M tree.
fn bench_snapshots(c: &mut Criterion, slot: &mut Option<Fixture>, scale: Scale) {
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));

    group.bench_function("clone", |b| {
        let fx = fixture(slot, scale);
        b.iter(|| fx.tree.clone())
    });

    // Each iteration takes hundreds of milliseconds: flat sampling keeps the
    // run to about ten of them instead of criterion's linear 55.
    group.sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(4));
    group.bench_function("serialize", |b| {
        let fx = fixture(slot, scale);
        b.iter(|| fx.tree.to_snapshot_bytes())
    });

    // The loaded tree is dropped outside the timing.
    group.bench_function("deserialize", |b| {
        let fx = fixture(slot, scale);
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let tree = DataTree::from_snapshot_bytes(&fx.snapshot).expect("own snapshot loads");
                elapsed += start.elapsed();
                drop(black_box(tree));
            }
            elapsed
        })
    });
    group.finish();
}

/// Reads on the 1M tree through `ensemble::read`, with the ACL check.
fn bench_reads(c: &mut Criterion, slot: &mut Option<Fixture>, scale: Scale) {
    let mut group = c.benchmark_group("read");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));

    group.bench_function("getData", |b| {
        let fx = fixture(slot, scale);
        let ops: Vec<ReadOp> = fx.child_paths.iter().map(|p| ReadOp::GetData { path: p.clone() }).collect();
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % ops.len();
            read(&fx.tree, SESSION, &[], &ops[i]).expect("getData")
        })
    });

    // Each parent has `scale.children` (1000) children; the reply's names are
    // allocated and dropped inside the timing, as a server would.
    group.bench_function("getChildren", |b| {
        let fx = fixture(slot, scale);
        let ops: Vec<ReadOp> = fx.parent_paths.iter().map(|p| ReadOp::GetChildren { path: p.clone() }).collect();
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % ops.len();
            read(&fx.tree, SESSION, &[], &ops[i]).expect("getChildren")
        })
    });
    group.finish();
}

/// Writes on the 1M tree, each a `prep` then an `apply`, as the leader does.
fn bench_writes(c: &mut Criterion, slot: &mut Option<Fixture>, scale: Scale) {
    let mut group = c.benchmark_group("write");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));

    // A fresh path each iteration, under a random parent. The nodes are
    // deleted again after each sample (untimed) so the tree stays at its size.
    group.bench_function("create", |b| {
        let fx = fixture(slot, scale);
        b.iter_custom(|iters| {
            let ops: Vec<WriteOp> = (0..iters).map(|_| fx.fresh_create_op()).collect();
            let start = Instant::now();
            for op in &ops {
                black_box(fx.write(op));
            }
            let elapsed = start.elapsed();
            for op in &ops {
                let WriteOp::Create { path, .. } = op else { unreachable!() };
                let applied = fx.write(&WriteOp::Delete { path: path.clone(), version: -1 });
                assert_eq!(applied.result, OpResult::Deleted, "cleanup of {path}");
            }
            elapsed
        })
    });

    // setData of random existing children (from a pool of 65,536): the steady state, where the tree
    // owns every map chunk alone and `apply` changes them in place.
    group.bench_function("setData", |b| {
        let fx = fixture(slot, scale);
        b.iter_custom(|iters| {
            let ops = fx.set_data_ops(iters);
            let start = Instant::now();
            for op in &ops {
                black_box(fx.write(op));
            }
            start.elapsed()
        })
    });

    // The worst case of O(1) snapshots: a setData while a fresh snapshot clone
    // shares every chunk, so the whole root-to-leaf path is copied. The clone
    // and its drop are not timed.
    group.bench_function("setData_after_snapshot", |b| {
        let fx = fixture(slot, scale);
        b.iter_custom(|iters| {
            let ops = fx.set_data_ops(iters);
            let mut elapsed = Duration::ZERO;
            for op in &ops {
                let snapshot = fx.tree.clone();
                let start = Instant::now();
                black_box(fx.write(op));
                elapsed += start.elapsed();
                drop(snapshot);
            }
            elapsed
        })
    });
    group.finish();
}

const USAGE: &str = "\
Benchmarks of ensemble's znode tree at 1,000,000 znodes (criterion 0.5).

Usage: cargo bench --bench tree -- [OPTIONS] [FILTER]

Benchmarks, in run order:
  snapshot/clone, snapshot/serialize, snapshot/deserialize,
  read/getData, read/getChildren,
  write/create, write/setData, write/setData_after_snapshot
The first benchmark to run builds the tree and prints memory per znode and
snapshot bytes per znode.

Common criterion options:
  [FILTER]                   run only benchmarks whose id contains FILTER
  --exact                    FILTER must match a benchmark id exactly
  --list                     list the benchmarks
  --test                     run each benchmark once, on a 10 x 10 tree
  --save-baseline NAME       save results under NAME
  --baseline NAME            compare with the saved baseline NAME
  --noplot, --verbose, --quiet, --color auto|always|never
  --profile-time SECONDS     iterate without analysis, for a profiler
Group settings in benches/tree.rs (sample size 10, short measurement times)
take precedence over --sample-size, --warm-up-time and --measurement-time.
";

/// How big a tree to build: `parents` nodes under "/", each with `children`.
#[derive(Clone, Copy, Debug)]
struct Scale {
    parents: usize,
    children: usize,
}

impl Scale {
    /// Full size when benchmarking; small in criterion's test mode.
    fn from_args() -> Scale {
        // Mirrors criterion's own rule: without `--bench` (which `cargo bench`
        // passes), or with `--test`, each benchmark runs once as a test.
        let args: Vec<String> = std::env::args().collect();
        let benchmarking = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
        if benchmarking {
            Scale { parents: 1000, children: 1000 }
        } else {
            Scale { parents: 10, children: 10 }
        }
    }
}

const SESSION: SessionId = SessionId(0x100);
const DATA_LEN: usize = 32;
const POOL_LEN: usize = 1 << 16;
static CONFIG: PrepConfig = PrepConfig { extended_types_enabled: false };

/// The tree every benchmark shares, built once per process, and what the
/// benchmarks draw their requests from.
struct Fixture {
    tree: DataTree,
    /// The last zxid handed out.
    zxid: Zxid,
    /// Numbers the fresh nodes of the create benchmark.
    created: u64,
    rng: SplitMix64,
    /// Random existing children, for getData and setData.
    child_paths: Vec<String>,
    /// Every parent, in random order, for getChildren.
    parent_paths: Vec<String>,
    /// The tree's snapshot image as first built.
    snapshot: Vec<u8>,
    data: Data,
}

fn fixture(slot: &mut Option<Fixture>, scale: Scale) -> &mut Fixture {
    slot.get_or_insert_with(|| Fixture::build(scale))
}

impl Fixture {
    /// Builds the tree with `prep` + `apply` of every create and prints the
    /// memory and snapshot figures criterion cannot measure.
    fn build(scale: Scale) -> Fixture {
        let mut fx = Fixture {
            tree: DataTree::new(),
            zxid: Zxid::new(1, 0),
            created: 0,
            rng: SplitMix64(0x5eed),
            child_paths: Vec::new(),
            parent_paths: Vec::new(),
            snapshot: Vec::new(),
            data: Data::from(vec![b'x'; DATA_LEN]),
        };
        let nodes_before = fx.tree.node_count();
        let heap_before = live_heap_bytes();
        let rss_before = rss_bytes();
        let start = Instant::now();
        let open = acl::open_acl_unsafe();
        let mut serial = 0u64;
        // Each node gets its own data allocation, as nodes created by clients do.
        let mut create = |fx: &mut Fixture, path: String| {
            serial += 1;
            let data = Data::from(format!("{serial:0width$}", width = DATA_LEN).into_bytes());
            let op = WriteOp::Create { path, data, acl: open.clone(), mode: CreateMode::Persistent, ttl_ms: None };
            let applied = fx.write(&op);
            assert!(matches!(applied.result, OpResult::Created { .. }), "{:?}", applied.result);
        };
        for p in 0..scale.parents {
            create(&mut fx, parent_path(p));
            for c in 0..scale.children {
                create(&mut fx, child_path(p, c));
            }
        }
        let build_time = start.elapsed();
        let heap_after = live_heap_bytes();
        let rss_after = rss_bytes();
        let nodes = fx.tree.node_count();
        let added = nodes - nodes_before;

        // Peak heap while serializing, above what was live before.
        let live = live_heap_bytes();
        PEAK_BYTES.store(live, Ordering::Relaxed);
        let serialize_start = Instant::now();
        fx.snapshot = fx.tree.to_snapshot_bytes();
        let serialize_time = serialize_start.elapsed();
        let serialize_peak = PEAK_BYTES.load(Ordering::Relaxed) - live;

        // Memory of the same tree as a replica loading the snapshot holds it.
        let before_load = live_heap_bytes();
        let loaded = DataTree::from_snapshot_bytes(&fx.snapshot).expect("own snapshot loads");
        let loaded_heap = live_heap_bytes() - before_load;
        assert_eq!(loaded, fx.tree, "snapshot round trip");
        drop(loaded);

        println!();
        println!("== ensemble tree: {nodes} znodes ({} parents x {} children, {DATA_LEN}-byte data, open ACL) ==", scale.parents, scale.children);
        println!("build: {added} creates (prep + apply) in {:.2} s = {:.0} creates/s", build_time.as_secs_f64(), added as f64 / build_time.as_secs_f64());
        println!(
            "memory per znode (live heap bytes requested, after - before build) / {added}: {:.1} B",
            (heap_after - heap_before) as f64 / added as f64
        );
        if let (Some(a), Some(b)) = (rss_after, rss_before) {
            println!("memory per znode (RSS after - before build, includes malloc overhead): {:.1} B", a.saturating_sub(b) as f64 / added as f64);
        }
        println!("memory per znode of the tree loaded from its snapshot (live heap bytes / {nodes}): {:.1} B", loaded_heap as f64 / nodes as f64);
        println!(
            "snapshot: {} bytes = {:.1} B per znode; first serialize {:.0} ms, peak extra heap {:.1} MiB",
            fx.snapshot.len(),
            fx.snapshot.len() as f64 / nodes as f64,
            serialize_time.as_secs_f64() * 1e3,
            serialize_peak as f64 / (1 << 20) as f64
        );
        println!(
            "size_of: Znode {} B, (String, Znode) map entry {} B",
            std::mem::size_of::<ensemble::Znode>(),
            std::mem::size_of::<(String, ensemble::Znode)>()
        );
        println!();

        fx.child_paths = (0..POOL_LEN).map(|_| child_path(fx.rng.below(scale.parents), fx.rng.below(scale.children))).collect();
        let mut parents: Vec<usize> = (0..scale.parents).collect();
        for i in (1..parents.len()).rev() {
            parents.swap(i, fx.rng.below(i + 1));
        }
        fx.parent_paths = parents.into_iter().map(parent_path).collect();
        fx
    }

    /// Prepares and applies one write, as the leader does, with the next zxid.
    fn write(&mut self, op: &WriteOp) -> Applied {
        self.zxid = self.zxid.next();
        let ctx = PrepContext {
            zxid: self.zxid,
            session: SESSION,
            cxid: self.zxid.counter as i32,
            time_ms: 1_700_000_000_000 + i64::from(self.zxid.counter),
            auth: &[],
            config: &CONFIG,
        };
        let txn = prep(&self.tree, &ctx, op);
        self.tree.apply(&txn)
    }

    /// A create of a path that does not exist, under a random parent.
    fn fresh_create_op(&mut self) -> WriteOp {
        self.created += 1;
        let parent = self.rng.below(self.parent_paths.len());
        WriteOp::Create {
            path: format!("{}/n{}", parent_path(parent), self.created),
            data: self.data.clone(),
            acl: acl::open_acl_unsafe(),
            mode: CreateMode::Persistent,
            ttl_ms: None,
        }
    }

    /// `n` setData requests on random existing children.
    fn set_data_ops(&mut self, n: u64) -> Vec<WriteOp> {
        (0..n)
            .map(|_| {
                let path = self.child_paths[self.rng.below(self.child_paths.len())].clone();
                WriteOp::SetData { path, data: self.data.clone(), version: -1 }
            })
            .collect()
    }
}

fn parent_path(p: usize) -> String {
    format!("/p{p:04}")
}

fn child_path(p: usize, c: usize) -> String {
    format!("/p{p:04}/c{c:04}")
}

/// A small seeded generator, so every run draws the same requests.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Counts the heap bytes the program has asked for and not yet freed, and the
/// peak of that count. It counts requested sizes: malloc's own headers and
/// rounding are not included (the RSS figure shows them). Every allocation pays
/// two uncontended atomic operations, a few nanoseconds, in the timings too.
struct CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

fn live_heap_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn count_alloc(bytes: usize) {
    let live = LIVE_BYTES.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
}

fn count_free(bytes: usize) {
    LIVE_BYTES.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        count_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_ptr = System.realloc(ptr, layout, new_size);
        if !new_ptr.is_null() {
            if new_size >= layout.size() {
                count_alloc(new_size - layout.size());
            } else {
                count_free(layout.size() - new_size);
            }
        }
        new_ptr
    }
}

/// The process's resident set size, from /proc (Linux only; `None` elsewhere).
fn rss_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
