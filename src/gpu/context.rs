//! The GPU context: adapter choice, device with the adapter's real limits, error scopes.
//!
//! Adapter choice: discrete > integrated > virtual > software (CPU) > other, Vulkan/Metal/DX12
//! before GL on ties. `WGPU_BACKEND` (e.g. `vulkan`, `metal,dx12`) limits the backends and
//! `WGPU_ADAPTER_NAME` (a case-insensitive substring) picks an adapter by name, as in wgpu's
//! own tools; [`EngineOptions`] overrides both.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// How to choose the adapter, and how to feed it.
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Comma-separated backend names (`vulkan`, `metal`, `dx12`, `gl`); overrides `WGPU_BACKEND`.
    pub backend: Option<String>,
    /// Substring of the adapter name; overrides `WGPU_ADAPTER_NAME`.
    pub adapter_name: Option<String>,
    /// Submit each call's command buffers in growing groups as they are recorded (`Some(true)`)
    /// or all at once (`Some(false)`). Default: `RESNET_SUBMIT_GROUPS` (`1` or `0`) where set,
    /// else in groups on every adapter but CPU ones ([`Engine::submits_in_groups`]).
    pub submit_groups: Option<bool>,
    /// On lavapipe, compile a workspace's launches before its first call, with helper devices
    /// beside this one taking part (one per further core, started once a launch takes over a
    /// second to compile) (`Some(true)`), or let the first call compile them one after
    /// another (`Some(false)`). Default: `RESNET_COMPILE_HELPERS` (`1` or `0`) where set, else
    /// on. See `kernels/compile_spread.rs`.
    pub compile_helpers: Option<bool>,
}

/// The device, its queue and what the adapter can do. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) ctx: Arc<Context>,
}

pub(crate) struct Context {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    /// Errors that escaped every error scope (recorded instead of panicking; every call's own
    /// work runs inside its thread's scopes, so these are never blamed on a call).
    pub uncaptured: Arc<Mutex<Vec<String>>>,
    /// Why the device was lost, once it is.
    pub lost: Arc<Mutex<Option<String>>>,
    /// What the conv variant choice depends on.
    pub caps: super::kernels::conv::DeviceCaps,
    /// Whether a call's command buffers go to the queue in growing groups as they are
    /// recorded (`executor::record`), so that the device starts before the host has recorded
    /// the whole call: [`EngineOptions::submit_groups`], else `RESNET_SUBMIT_GROUPS` (`0` or
    /// `1`), else every adapter but CPU ones (as `caps` sees the type). Lavapipe's queue
    /// blocks the host in a submission while an earlier one runs, which would make every call
    /// synchronous there.
    pub submit_groups: bool,
    /// Whether lavapipe's compiles are spread over helper devices
    /// ([`EngineOptions::compile_helpers`]).
    pub compile_helpers: bool,
    /// The backends the engine was asked to consider (`--backend`, `WGPU_BACKEND`, else all).
    pub requested: wgpu::Backends,
    /// Pipelines per precision (f32, f16), created on first use.
    pub pipelines: [std::sync::OnceLock<Arc<super::kernels::Pipelines>>; 2],
}

/// Backend names as `--backend` takes them (`vulkan, gl`).
fn backend_names(backends: wgpu::Backends) -> String {
    backends
        .iter_names()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn backend_rank(b: wgpu::Backend) -> u8 {
    match b {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    }
}

impl Engine {
    /// Picks the best adapter (see the module docs) and creates a device on it.
    pub fn new() -> Result<Self> {
        Self::with_options(&EngineOptions::default())
    }

    /// Like [`Engine::new`] with explicit backend and adapter choices.
    pub fn with_options(opts: &EngineOptions) -> Result<Self> {
        pollster::block_on(Self::create(opts))
    }

    async fn create(opts: &EngineOptions) -> Result<Self> {
        let backends = match &opts.backend {
            Some(list) => parse_backends("--backend", list)?,
            None => match std::env::var("WGPU_BACKEND") {
                Ok(list) => parse_backends("WGPU_BACKEND", &list)?,
                Err(_) => wgpu::Backends::all(),
            },
        };
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = backends;
        let instance = wgpu::Instance::new(desc);
        let mut adapters = instance.enumerate_adapters(backends).await;
        let wanted = opts
            .adapter_name
            .clone()
            .or_else(|| std::env::var("WGPU_ADAPTER_NAME").ok())
            .map(|s| s.to_lowercase());
        let all_names: Vec<String> = adapters
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} ({:?})", i.name, i.backend)
            })
            .collect();
        if let Some(name) = &wanted {
            adapters.retain(|a| a.get_info().name.to_lowercase().contains(name));
        }
        adapters.sort_by_key(|a| {
            let i = a.get_info();
            (type_rank(i.device_type), backend_rank(i.backend))
        });
        let Some(adapter) = adapters.into_iter().next() else {
            // The install hint only where no adapter exists at all; a name that matches none
            // of those found lists them instead.
            let detail = match (&wanted, all_names.is_empty()) {
                (Some(name), false) => format!(
                    " whose name contains `{name}`; found: {}",
                    all_names.join(", ")
                ),
                // Mesa's drivers only help where Vulkan or GL is among the backends asked for.
                _ if backends.intersects(wgpu::Backends::VULKAN | wgpu::Backends::GL) => format!(
                    " for backends {}. On Linux without a GPU install Mesa's software Vulkan \
                     driver (Debian/Ubuntu package `mesa-vulkan-drivers`), then check with \
                     `vulkaninfo --summary`",
                    backend_names(backends)
                ),
                _ => format!(
                    " for backends {}; expected one with a driver on this machine (without \
                     --backend and WGPU_BACKEND every backend is tried)",
                    backend_names(backends)
                ),
            };
            return Err(Error::NoAdapter { detail });
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        // SHADER_INT64 only where the weights may be read in u64 pairs (DeviceCaps::new).
        let int64 = if info.device_type == wgpu::DeviceType::Cpu {
            wgpu::Features::SHADER_INT64
        } else {
            wgpu::Features::empty()
        };
        let features = adapter.features()
            & (wgpu::Features::SHADER_F16
                | wgpu::Features::SUBGROUP
                | int64
                | wgpu::Features::TIMESTAMP_QUERY
                | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("resnet-wgpu"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Device {
                adapter: info.name.clone(),
                reason: e.to_string(),
            })?;
        let caps = super::kernels::conv::DeviceCaps::new(&info, features)?;
        // Read where passes are timed (`timer.rs`), where shader modules are made
        // (`shader_module.rs`) and where pipelines are (`pipelines.rs`); checked here so that
        // a bad value is an error when the engine is made.
        for var in super::kernels::device_caps::READ_WHERE_USED {
            super::kernels::device_caps::switch(var)?;
        }
        let compile_helpers = opts
            .compile_helpers
            .or(super::kernels::device_caps::switch(
                "RESNET_COMPILE_HELPERS",
            )?)
            .unwrap_or(true);
        let submit_env = super::kernels::device_caps::switch("RESNET_SUBMIT_GROUPS")?;
        let submit_groups = opts
            .submit_groups
            .or(submit_env)
            .unwrap_or(caps.device_type != wgpu::DeviceType::Cpu);
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            let mut l = lost_sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *l = Some(format!("{reason:?}: {message}"));
        });
        Ok(Engine {
            ctx: Arc::new(Context {
                adapter,
                device,
                queue,
                info,
                limits,
                features,
                caps,
                submit_groups,
                compile_helpers,
                requested: backends,
                uncaptured,
                lost,
                pipelines: Default::default(),
            }),
        })
    }

    /// GPU errors that no call's error scope caught (none are expected; for diagnostics).
    pub fn uncaptured_errors(&self) -> Vec<String> {
        self.ctx
            .uncaptured
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// The adapter's description (name, backend, driver, device type).
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.ctx.info
    }

    /// A note for the user where the engine runs on a CPU adapter through wgpu's GL backend
    /// although Vulkan was asked for (no Vulkan driver on the machine): the same cores run the
    /// engine about 2.2x faster through Mesa's Vulkan driver. `None` elsewhere.
    pub fn backend_note(&self) -> Option<String> {
        let info = &self.ctx.info;
        super::backend_note::slower_backend_note(
            &info.name,
            info.backend,
            info.device_type,
            self.ctx.requested,
        )
    }

    /// The limits the device was created with (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.ctx.limits
    }

    /// The optional features enabled on the device.
    pub fn features(&self) -> wgpu::Features {
        self.ctx.features
    }

    /// What the conv variant choice and the shader builds depend on (device type, usable
    /// subgroups, weights in u64 pairs).
    pub fn conv_caps(&self) -> super::kernels::conv::DeviceCaps {
        self.ctx.caps
    }

    /// Whether a call's command buffers are submitted in growing groups as they are recorded,
    /// instead of all at once ([`EngineOptions::submit_groups`]).
    pub fn submits_in_groups(&self) -> bool {
        self.ctx.submit_groups
    }

    /// All features the adapter offers.
    pub fn adapter_features(&self) -> wgpu::Features {
        self.ctx.adapter.features()
    }

    /// The cooperative-matrix shapes and types the adapter offers (wgpu's experimental
    /// `EXPERIMENTAL_COOPERATIVE_MATRIX`: tensor cores on NVIDIA GPUs through Vulkan's
    /// `VK_KHR_cooperative_matrix`, simdgroup matrices on Apple GPUs); empty where it has none.
    /// The engine does not use them yet: `resnet info` lists them so that a GPU run tells
    /// which a kernel could use.
    pub fn cooperative_matrices(&self) -> Vec<wgpu::CooperativeMatrixProperties> {
        self.ctx.adapter.cooperative_matrix_properties()
    }

    /// The wgpu device (for callers that record their own work).
    pub fn device(&self) -> &wgpu::Device {
        &self.ctx.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.ctx.queue
    }

    /// Destroys the device, as a driver reset or an unplugged GPU would: every later call on
    /// this engine's models fails with [`Error::DeviceLost`]. For testing recovery.
    #[doc(hidden)]
    pub fn destroy_device(&self) {
        self.ctx.device.destroy();
    }

    /// Whether this engine's models compile their kernels on helper devices too before their
    /// first call ([`EngineOptions::compile_helpers`]): `None` on adapters other than
    /// lavapipe, where that does not apply.
    pub fn compile_helpers(&self) -> Option<bool> {
        super::kernels::spreads_compiles(&self.ctx.info).then_some(self.ctx.compile_helpers)
    }

    /// What spreading lavapipe's compiles over helper devices did so far for this engine's
    /// models of `precision` ([`EngineOptions::compile_helpers`]): `None` where it does not
    /// apply (an adapter other than lavapipe, or helpers turned off) or before the first
    /// model of that precision.
    pub fn compile_spread(&self, precision: super::Precision) -> Option<super::SpreadStats> {
        let index = (precision == super::Precision::F16) as usize;
        self.ctx.pipelines[index].get()?.spread_stats()
    }

    /// A one-line description: `name (backend, type, driver)`.
    pub fn describe(&self) -> String {
        let i = &self.ctx.info;
        format!(
            "{} ({:?}, {:?}, {} {})",
            i.name, i.backend, i.device_type, i.driver, i.driver_info
        )
    }
}

impl Context {
    /// Runs `f` inside validation and out-of-memory error scopes; a captured error becomes
    /// [`Error::Gpu`] naming `during`. wgpu's error scopes are per thread, so an error is
    /// reported to the call whose thread caused it and to no other.
    pub fn scoped<T>(&self, during: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        self.check_lost()?;
        if let Some(e) = v.or(o) {
            return Err(Error::Gpu {
                during: during.to_string(),
                message: e.to_string(),
            });
        }
        out
    }

    /// [`Error::DeviceLost`] once the device is lost.
    pub fn check_lost(&self) -> Result<()> {
        let lost = self
            .lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*lost {
            Some(reason) => Err(Error::DeviceLost {
                adapter: self.info.name.clone(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Blocks until the queue is idle.
    pub fn wait(&self, during: &str) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::Gpu {
                during: during.to_string(),
                message: e.to_string(),
            })
    }
}

impl Context {
    /// The pipelines of `precision`, each compiled on its first use; on wgpu's GL backend all
    /// of them at once here. GL runs every device call under one context lock that other
    /// threads give up on after a second, and a compile on llvmpipe holds it for seconds, so
    /// there no compile may happen while other calls run.
    pub(crate) fn pipelines(&self, precision: super::Precision) -> Arc<super::kernels::Pipelines> {
        self.pipelines[(precision == super::Precision::F16) as usize]
            .get_or_init(|| {
                let u64_pairs = self.caps.u64_pairs;
                let spread = match self.compile_helpers {
                    true => super::kernels::Spread::new(
                        &self.adapter,
                        &self.queue,
                        self.features,
                        &self.limits,
                        precision,
                        u64_pairs,
                    ),
                    false => None,
                };
                let pipelines = super::kernels::Pipelines::new(&self.device, precision, u64_pairs)
                    .spreading(spread);
                if self.info.backend == wgpu::Backend::Gl {
                    pipelines.compile_all();
                }
                Arc::new(pipelines)
            })
            .clone()
    }
}

/// The backends of a comma-separated list (`what`: where it came from); an error names a name
/// wgpu does not know, or an empty list, instead of looking for adapters on no backend.
fn parse_backends(what: &str, list: &str) -> Result<wgpu::Backends> {
    let expected = "expected backend names (vulkan, metal, dx12, gl), comma-separated";
    let mut backends = wgpu::Backends::empty();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let one = wgpu::Backends::from_comma_list(name);
        if one.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{what}: {expected}, found `{name}`"
            )));
        }
        backends |= one;
    }
    if backends.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{what}: {expected}, found `{list}`"
        )));
    }
    Ok(backends)
}
