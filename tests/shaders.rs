//! CPU-only checks of every WGSL file the engine compiles (`gpu::kernels::SHADERS`), in every
//! variant the engine generates from it (f32 as on disk, and the f16 build): each parses and
//! validates with naga (all capabilities), and every kernel's entry point exists with exactly
//! the bindings its pipeline layout declares.

use resnet_wgpu::gpu::kernels::{shader_for, shader_source, Access, Kernel, Precision, SHADERS};

const PRECISIONS: [Precision; 2] = [Precision::F32, Precision::F16];

fn parse(name: &str, src: &str) -> naga::Module {
    naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name} does not parse:\n{}", e.emit_to_string(src)))
}

fn validate(name: &str, src: &str, module: &naga::Module) -> naga::valid::ModuleInfo {
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(module)
    .unwrap_or_else(|e| panic!("{name} does not validate:\n{}", e.emit_to_string(src)))
}

#[test]
fn every_shader_parses_and_validates() {
    assert!(!SHADERS.is_empty(), "no shaders registered");
    for ((name, src), precision) in SHADERS.iter().flat_map(|s| PRECISIONS.map(|p| (s, p))) {
        let src = &shader_for(src, precision);
        let name = &format!("{name} ({precision:?})");
        let module = parse(name, src);
        validate(name, src, &module);
        assert!(
            module
                .entry_points
                .iter()
                .all(|e| e.stage == naga::ShaderStage::Compute),
            "{name}: every entry point should be a compute shader"
        );
    }
}

#[test]
fn shader_names_are_unique() {
    for (i, (a, _)) in SHADERS.iter().enumerate() {
        assert!(
            SHADERS[i + 1..].iter().all(|(b, _)| a != b),
            "shader `{a}` is registered twice"
        );
    }
}

/// Each kernel's entry point exists, and the globals it uses are exactly the bindings of its
/// layout, in group 0, with the declared access (read-only storage, read-write storage or
/// uniform). A mismatch here would only show up as a pipeline-creation error on a device.
#[test]
fn kernel_bindings_match_their_shaders() {
    for (kernel, precision) in Kernel::ALL
        .into_iter()
        .flat_map(|k| PRECISIONS.map(|p| (k, p)))
    {
        let (file, entry) = kernel.entry();
        let src = shader_source(file)
            .unwrap_or_else(|| panic!("{kernel:?}: shader `{file}` is not in SHADERS"));
        let src = &shader_for(src, precision);
        let module = parse(file, src);
        let info = validate(file, src, &module);
        let index = module
            .entry_points
            .iter()
            .position(|e| e.name == entry)
            .unwrap_or_else(|| panic!("{kernel:?}: `{file}` has no entry point `{entry}`"));
        let fn_info = info.get_entry_point(index);
        let mut used: Vec<(u32, Access)> = Vec::new();
        for (handle, var) in module.global_variables.iter() {
            if fn_info[handle].is_empty() {
                continue;
            }
            let Some(binding) = &var.binding else {
                continue;
            };
            assert_eq!(
                binding.group, 0,
                "{kernel:?}: `{file}` binds a global in group {}",
                binding.group
            );
            let access = match var.space {
                naga::AddressSpace::Uniform => Access::Uniform,
                naga::AddressSpace::Storage { access }
                    if access.contains(naga::StorageAccess::STORE) =>
                {
                    Access::Write
                }
                naga::AddressSpace::Storage { .. } => Access::Read,
                other => panic!("{kernel:?}: unexpected address space {other:?}"),
            };
            used.push((binding.binding, access));
        }
        used.sort_by_key(|(b, _)| *b);
        // The layout lists bindings in resource order (inputs, weights, output, params).
        let mut declared = kernel.bindings().to_vec();
        declared.sort_by_key(|(b, _)| *b);
        assert_eq!(
            used,
            declared,
            "{kernel:?} {precision:?} ({file}:{entry}): bindings used by the shader (left) differ from the \
             pipeline layout (right)"
        );
    }
}
