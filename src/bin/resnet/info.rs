//! `resnet info`: the adapter (name, backend, driver, subgroup sizes), its limits and
//! features, the kernel plan the engine chooses for it, and with `--arch` a model's device
//! memory and dispatches per submission.

use clap::Args;
use resnet_wgpu::gpu::Precision;
use resnet_wgpu::{Architecture, BuildOptions, Model, ModelOptions, Result, Weights};

use crate::{engine, Cli, InputSize};

#[derive(Args)]
pub struct InfoArgs {
    /// Architecture whose memory to report: simple, resnet18/34/50/101/152,
    /// resnext50_32x4d, resnext101_32x8d/64x4d, wide_resnet50_2/101_2, resnet20/32/44/56/110.
    #[arg(long)]
    arch: Option<Architecture>,
    /// safetensors weights file, or random:SEED.
    #[arg(long, default_value = "random:1")]
    weights: Weights,
    #[command(flatten)]
    input: InputSize,
    /// Storage precision of activations and conv weights on the GPU.
    #[arg(long, default_value = "f32")]
    precision: Precision,
}

pub fn info(cli: &Cli, a: &InfoArgs) -> Result<()> {
    let e = engine(cli)?;
    let i = e.adapter_info();
    println!("adapter:  {}", i.name);
    println!("backend:  {:?}", i.backend);
    println!("type:     {:?}", i.device_type);
    println!("driver:   {} {}", i.driver, i.driver_info);
    println!("vendor:   {:#06x}  device: {:#06x}", i.vendor, i.device);
    let l = e.limits();
    println!("limits:");
    println!(
        "  max_storage_buffer_binding_size  {}",
        l.max_storage_buffer_binding_size
    );
    println!("  max_buffer_size                  {}", l.max_buffer_size);
    println!(
        "  max_compute_workgroup_storage    {}",
        l.max_compute_workgroup_storage_size
    );
    println!(
        "  max_compute_invocations/group    {}",
        l.max_compute_invocations_per_workgroup
    );
    println!(
        "  max_compute_workgroup_size       {}x{}x{}",
        l.max_compute_workgroup_size_x,
        l.max_compute_workgroup_size_y,
        l.max_compute_workgroup_size_z
    );
    println!(
        "  max_workgroups_per_dimension     {}",
        l.max_compute_workgroups_per_dimension
    );
    println!(
        "  max_storage_buffers_per_stage    {}",
        l.max_storage_buffers_per_shader_stage
    );
    println!("features (adapter): {:?}", e.adapter_features());
    println!("features (enabled): {:?}", e.features());
    if e.features().contains(wgpu::Features::SUBGROUP) {
        println!(
            "subgroup sizes:     {} to {} invocations",
            i.subgroup_min_size, i.subgroup_max_size
        );
    } else {
        println!("subgroup sizes:     none (no SUBGROUP feature)");
    }
    println!(
        "cooperative matrices: {}",
        cooperative_matrices(&e.cooperative_matrices())
    );
    let caps = e.conv_caps();
    println!(
        "kernel plan:        {}",
        match (caps.device_type, caps.subgroups) {
            (wgpu::DeviceType::Cpu, true) => "CPU adapter (subgroup GEMMs, Winograd)",
            (wgpu::DeviceType::Cpu, false) => {
                "CPU adapter without subgroups (1x1 GEMM, Winograd F(2,3), vec4 direct convs)"
            }
            _ => "GPU (workgroup-memory tiles, split K)",
        }
    );
    println!(
        "subgroup GEMMs:     {}",
        match (caps.subgroups, caps.u64_pairs) {
            (false, _) => "off",
            (true, false) => "on, weights one vec4 per load",
            (true, true) => "on, f32 weights and outputs in u64 pairs (8 channels per access)",
        }
    );
    if caps.subgroups && caps.device_type == wgpu::DeviceType::Cpu {
        println!(
            "wide GEMM blocks:   {}",
            match (caps.wide_blocks, std::env::var("RESNET_WIDE_BLOCKS").is_ok()) {
                (true, true) => "on (128/256 channels per workgroup where they fit; RESNET_WIDE_BLOCKS=1)",
                (false, true) => "off (RESNET_WIDE_BLOCKS=0)",
                (true, false) =>
                    "on (128/256 channels per workgroup where they fit; RESNET_WIDE_BLOCKS=0 turns them off)",
                (false, false) => "off (they do not pay on this driver; RESNET_WIDE_BLOCKS=1 turns them on)",
            }
        );
    }
    println!(
        "submissions:        {}",
        if e.submits_in_groups() {
            "in growing groups as a call is recorded"
        } else {
            "one per call"
        }
    );
    if let Some(helpers) = e.compile_helpers() {
        println!(
            "compile helpers:    {}",
            if helpers {
                "on (a model's first launches compile on every core; RESNET_COMPILE_HELPERS=0 \
                 turns them off)"
            } else {
                "off (a model's first call compiles its launches one after another)"
            }
        );
    }
    if let Some(arch) = a.arch {
        let (h, w) = a.input.hw(arch);
        let graph = resnet_wgpu::load_graph(arch, &a.weights, BuildOptions::default())?;
        let model =
            Model::with_options(&e, graph, ModelOptions::from_tune_cache(&e, a.precision)?)?;
        let m = model.memory(a.input.batch, h, w)?;
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        println!(
            "memory of {arch} batch {} {h}x{w} ({}):",
            a.input.batch, a.precision
        );
        println!(
            "  weights                          {:.2} MiB",
            mib(m.weights)
        );
        println!(
            "  one workspace                    {:.2} MiB ({} image(s) per chunk, {} chunk(s) per call)",
            mib(m.workspace),
            m.chunk,
            m.chunks
        );
        println!(
            "  activations (liveness plan)      {:.2} MiB in {} buffers, live peak {:.2} MiB",
            mib(m.activations),
            m.activation_buffers,
            mib(m.live_peak)
        );
        println!(
            "  workspaces per shape (at most)   {}",
            model.options().workspaces_per_shape
        );
        let groups = model.submission_dispatches(a.input.batch, h, w)?;
        let list: Vec<String> = groups.iter().map(usize::to_string).collect();
        println!(
            "dispatches per submission of a chunk: {} ({} in all)",
            list.join(", "),
            groups.iter().sum::<usize>()
        );
    }
    Ok(())
}

/// The adapter's cooperative-matrix configurations as `MxNxK A/B type -> C type`, comma
/// separated, or `none`; with a reminder that the engine does not use them yet.
fn cooperative_matrices(list: &[wgpu::CooperativeMatrixProperties]) -> String {
    if list.is_empty() {
        return "none".to_string();
    }
    let shapes: Vec<String> = list
        .iter()
        .map(|c| {
            format!(
                "{}x{}x{} {:?} -> {:?}{}",
                c.m_size,
                c.n_size,
                c.k_size,
                c.ab_type,
                c.cr_type,
                if c.saturating_accumulation {
                    " (saturating)"
                } else {
                    ""
                }
            )
        })
        .collect();
    format!("{} (not used by the engine yet)", shapes.join(", "))
}

#[cfg(test)]
mod tests {
    use super::cooperative_matrices;
    use wgpu::{CooperativeMatrixProperties, CooperativeScalarType};

    #[test]
    fn cooperative_matrices_are_listed_by_shape_and_types() {
        assert_eq!(cooperative_matrices(&[]), "none");
        let shape = |m, ab_type, saturating_accumulation| CooperativeMatrixProperties {
            m_size: m,
            n_size: m,
            k_size: m,
            ab_type,
            cr_type: CooperativeScalarType::F32,
            saturating_accumulation,
        };
        let list = [
            shape(16, CooperativeScalarType::F16, false),
            shape(8, CooperativeScalarType::F32, true),
        ];
        assert_eq!(
            cooperative_matrices(&list),
            "16x16x16 F16 -> F32, 8x8x8 F32 -> F32 (saturating) (not used by the engine yet)"
        );
    }
}
