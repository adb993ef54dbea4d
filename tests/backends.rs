//! CPU-only proof that every shader the engine compiles also translates for the other wgpu
//! backends: each module of `gpu::kernels::shaders::FILES`, assembled in f32 and in f16 and
//! validated as `tests/shaders.rs` does, with its pipeline constants resolved to each value the
//! engine builds it with (the write step's `has_residual` false and true), is written by naga's
//! back ends to
//!
//! - SPIR-V (Vulkan; the backend lavapipe also runs),
//! - MSL 2.4 (Metal),
//! - HLSL shader model 6.2 (DX12; 6.2 is the first with native 16-bit types),
//! - GLSL 4.50 core, compute (wgpu's GL backend), one entry point at a time as the GL backend
//!   compiles them.
//!
//! The files that offer weights or outputs in u64 pairs (`ShaderFile::weight_pairs`,
//! `output_pairs`) are also translated as the u64-pairs builds assemble them, and the files
//! that exist only in those builds (`ShaderFile::pairs_only`) only so, in f32.
//!
//! Any translation error fails the test, except for the combinations [`expected_unsupported`]
//! names: things a backend cannot express, with the reason. Today that is exactly every f16
//! module and every u64-pairs module in GLSL (naga's GLSL writer has neither 16-bit
//! floats nor 64-bit integers; the engine builds those only on adapters with `SHADER_F16` or
//! `SHADER_INT64`, which wgpu's GL backend does not offer). The expectation is
//! checked to be exact (each expected failure must really fail, with the error it names), so
//! it cannot rot when naga learns a feature or a shader stops needing one. Translation is not
//! execution: only Vulkan (lavapipe) and, where CI runs it, GL run the kernels.

use resnet_wgpu::gpu::kernels::shaders::{OutputView, WeightView, FILES};
use resnet_wgpu::gpu::kernels::Precision;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Backend {
    Spirv,
    Msl,
    Hlsl,
    Glsl,
}

const BACKENDS: [Backend; 4] = [Backend::Spirv, Backend::Msl, Backend::Hlsl, Backend::Glsl];

/// Why naga cannot translate (shader file, precision, backend), and a fragment of the error
/// it gives, or `None` where it must succeed. Every combination named here is asserted to
/// fail with that error; every other one to succeed.
fn expected_unsupported(
    _file: &str,
    precision: Precision,
    u64s: bool,
    b: Backend,
) -> Option<(&'static str, &'static str)> {
    match (precision, u64s, b) {
        (Precision::F16, _, Backend::Glsl) => Some((
            "naga's GLSL writer has no 16-bit float type",
            "unsupported width was requested: Scalar { kind: Float, width: 2 }",
        )),
        (_, true, Backend::Glsl) => Some((
            "naga's GLSL writer has no 64-bit integers (the engine moves data in u64 pairs only \
             where SHADER_INT64 is enabled, which wgpu's GL backend does not offer)",
            "unsupported width was requested: Scalar { kind: Uint, width: 8 }",
        )),
        _ => None,
    }
}

fn translate(
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    b: Backend,
) -> Result<String, String> {
    match b {
        Backend::Spirv => {
            let options = naga::back::spv::Options {
                lang_version: (1, 3),
                ..Default::default()
            };
            naga::back::spv::write_vec(module, info, &options, None)
                .map(|words| format!("{} SPIR-V words", words.len()))
                .map_err(|e| e.to_string())
        }
        Backend::Msl => {
            let options = naga::back::msl::Options {
                lang_version: (2, 4),
                ..Default::default()
            };
            let pipeline = naga::back::msl::PipelineOptions::default();
            naga::back::msl::write_string(module, info, &options, &pipeline)
                .map(|(src, _)| src)
                .map_err(|e| e.to_string())
        }
        Backend::Hlsl => {
            let options = naga::back::hlsl::Options {
                shader_model: naga::back::hlsl::ShaderModel::V6_2,
                ..Default::default()
            };
            let pipeline = naga::back::hlsl::PipelineOptions { entry_point: None };
            let mut src = String::new();
            naga::back::hlsl::Writer::new(&mut src, &options, &pipeline)
                .write(module, info, None)
                .map(|_| src)
                .map_err(|e| e.to_string())
        }
        Backend::Glsl => {
            let options = naga::back::glsl::Options {
                version: naga::back::glsl::Version::Desktop(450),
                writer_flags: naga::back::glsl::WriterFlags::empty(),
                ..Default::default()
            };
            let mut all = String::new();
            for ep in &module.entry_points {
                let pipeline = naga::back::glsl::PipelineOptions {
                    shader_stage: ep.stage,
                    entry_point: ep.name.clone(),
                    multiview: None,
                };
                let mut src = String::new();
                naga::back::glsl::Writer::new(
                    &mut src,
                    module,
                    info,
                    &options,
                    &pipeline,
                    naga::proc::BoundsCheckPolicies::default(),
                )
                .and_then(|mut w| w.write())
                .map_err(|e| format!("entry point `{}`: {e}", ep.name))?;
                all.push_str(&src);
            }
            Ok(all)
        }
    }
}

/// The pipeline constants the engine builds a module with: each value of the write step's
/// `has_residual` where the module declares it (every write-step kernel has both pipelines,
/// `Pipelines::get`), else none. The writers take modules with their overrides resolved, as
/// wgpu resolves them at pipeline creation.
fn specializations(module: &naga::Module) -> Vec<naga::back::PipelineConstants> {
    let declared = module
        .overrides
        .iter()
        .any(|(_, o)| o.name.as_deref() == Some("has_residual"));
    if !declared {
        return vec![Default::default()];
    }
    [0.0, 1.0]
        .into_iter()
        .map(|v| {
            let mut c = naga::back::PipelineConstants::default();
            c.insert("has_residual".to_string(), v);
            c
        })
        .collect()
}

#[test]
fn every_shader_translates_to_every_backend() {
    assert!(!FILES.is_empty(), "no shaders registered");
    let mut unexpected = Vec::new();
    let (mut translated, mut failed, mut specialized) = (0, 0, 0);
    let (mut specialized_f16, mut specialized_pairs) = (0, 0);
    for f in FILES {
        // Every distinct module of the plain builds and of the u64-pairs builds.
        let mut builds = Vec::new();
        for &precision in f.precisions() {
            for pairs in [false, true] {
                if f.pairs_only && !pairs {
                    continue; // built only where u64 pairs are on
                }
                let weights = f.weight_view(precision, WeightView::for_build(pairs, precision));
                for &view in f.views() {
                    let build = (precision, f.output_view(precision, view, pairs), weights);
                    if !builds.contains(&build) {
                        builds.push(build);
                    }
                }
            }
        }
        for (precision, view, weights) in builds {
            let src = f.assemble_with(precision, view, weights);
            let name = format!("{} ({precision:?}, {view:?}, weights {weights:?})", f.name);
            let u64s = weights == WeightView::Pairs || view == OutputView::Pairs || f.pairs_only;
            let module = naga::front::wgsl::parse_str(&src)
                .unwrap_or_else(|e| panic!("{name} does not parse:\n{}", e.emit_to_string(&src)));
            let info = naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::all(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name} does not validate:\n{}", e.emit_to_string(&src)));
            for constants in specializations(&module) {
                let (module, info) = naga::back::pipeline_constants::process_overrides(
                    &module, &info, None, &constants,
                )
                .unwrap_or_else(|e| panic!("{name} with {constants:?}: {e}"));
                let name = format!("{name} {constants:?}");
                specialized += 1;
                specialized_f16 += (precision == Precision::F16) as usize;
                specialized_pairs += u64s as usize;
                for b in BACKENDS {
                    let expected = expected_unsupported(f.name, precision, u64s, b);
                    match translate(&module, &info, b) {
                        Ok(out) => {
                            assert!(!out.is_empty(), "{name} → {b:?}: empty output");
                            if b != Backend::Spirv {
                                // Every entry point is in the text (GLSL renames them to `main`).
                                for ep in &module.entry_points {
                                    assert!(
                                        b == Backend::Glsl || out.contains(ep.name.as_str()),
                                        "{name} → {b:?}: entry point `{}` missing from the output",
                                        ep.name
                                    );
                                }
                            }
                            translated += 1;
                            if let Some((why, _)) = expected {
                                unexpected.push(format!(
                                "{name} → {b:?}: expected to fail ({why}) but translates; update expected_unsupported"
                            ));
                            }
                        }
                        Err(e) => {
                            failed += 1;
                            match expected {
                            Some((_, msg)) if e.contains(msg) => {}
                            Some((why, msg)) => unexpected.push(format!(
                                "{name} → {b:?}: expected to fail ({why}) with `{msg}`, failed with: {e}"
                            )),
                            None => unexpected.push(format!("{name} → {b:?}: {e}")),
                        }
                        }
                    }
                }
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "translation results differ from the expectation:\n{}",
        unexpected.join("\n")
    );
    // Each file in both precisions (and both residual constants where it has them) for 4
    // backends; only GLSL of the f16 and of the u64-pairs modules fails.
    assert!(
        specialized > FILES.len() * 2,
        "no module declares `has_residual`"
    );
    assert_eq!(translated + failed, specialized * BACKENDS.len());
    assert_eq!(
        failed,
        specialized_f16 + specialized_pairs,
        "one expected failure per specialised f16 or u64-pairs module (its GLSL)"
    );
    assert!(specialized_pairs > 0, "no module moves data in u64 pairs");
}
