//! CPU-only checks of every WGSL module the engine compiles (`gpu::kernels::shaders::FILES`,
//! each assembled from the shared pieces in both precisions (f32 only for the files that exist
//! only in u64-pairs builds), and in both weight views where the file offers weights in u64
//! pairs): each parses and validates with
//! naga (all capabilities); every kernel's entry point exists with exactly the bindings its
//! pipeline layout declares; the f16 build stores f16 and the f32 build does not; every
//! piece is used and no kernel is assembled from the same piece twice; and every WGSL
//! parameter struct has the size and the field names and offsets of its Rust struct.

use resnet_wgpu::gpu::kernels::shaders::{file, OutputView, Piece, ShaderFile, WeightView, FILES};
use resnet_wgpu::gpu::kernels::{
    conv::ConvParams, eltwise::EltParams, layout::LayoutParams, linear::LinearParams,
    pool::PoolParams, winograd::WinoParams, Access, Kernel, Precision,
};

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

/// The weight views `f` is built with in `precision`: vec4, and pairs where it offers them.
fn weight_views(f: &ShaderFile, precision: Precision) -> Vec<WeightView> {
    WeightView::ALL
        .into_iter()
        .filter(|&w| f.weight_view(precision, w) == w)
        .collect()
}

/// Every (file, precision, output view, weight view) module, assembled, parsed and validated.
fn modules() -> Vec<(String, Precision, naga::Module, naga::valid::ModuleInfo)> {
    FILES
        .iter()
        .flat_map(|f| f.precisions().iter().map(move |&p| (f, p)))
        .flat_map(|(f, p)| f.views().iter().map(move |&v| (f, p, v)))
        .flat_map(|(f, p, v)| weight_views(f, p).into_iter().map(move |w| (f, p, v, w)))
        .map(|(f, precision, view, weights)| {
            let src = f.assemble_with(precision, view, weights);
            let name = format!("{} ({precision:?}, {view:?}, weights {weights:?})", f.name);
            let module = parse(&name, &src);
            let info = validate(&name, &src, &module);
            (name, precision, module, info)
        })
        .collect()
}

#[test]
fn every_shader_parses_and_validates() {
    assert!(!FILES.is_empty(), "no shaders registered");
    for (name, _, module, _) in modules() {
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
fn shader_names_are_unique_and_pieces_used_once() {
    for (i, a) in FILES.iter().enumerate() {
        assert!(
            FILES[i + 1..].iter().all(|b| a.name != b.name),
            "shader `{}` is registered twice",
            a.name
        );
        for (j, p) in a.pieces.iter().enumerate() {
            assert!(
                !a.pieces[j + 1..].contains(p),
                "{}: piece {p:?} listed twice",
                a.name
            );
        }
    }
    // A piece is used where some assembled module includes it (listed by a file, or added by
    // the assembly for a view).
    let sources: Vec<String> = FILES
        .iter()
        .flat_map(|f| f.precisions().iter().map(move |&p| (f, p)))
        .flat_map(|(f, p)| f.views().iter().map(move |&v| (f, p, v)))
        .flat_map(|(f, p, v)| weight_views(f, p).into_iter().map(move |w| (f, p, v, w)))
        .map(|(f, p, v, w)| f.assemble_with(p, v, w))
        .collect();
    for piece in Piece::ALL {
        let header = format!("// ---- shaders/common/{} ----", piece.name());
        assert!(
            sources.iter().any(|s| s.contains(&header)),
            "piece {piece:?} is used by no shader"
        );
    }
}

/// The storage scalar of a global: the element type of an array, or the type itself.
fn storage_scalar(module: &naga::Module, ty: naga::Handle<naga::Type>) -> Option<naga::Scalar> {
    match &module.types[ty].inner {
        naga::TypeInner::Array { base, .. } => storage_scalar(module, *base),
        naga::TypeInner::Scalar(s) => Some(*s),
        naga::TypeInner::Vector { scalar, .. } => Some(*scalar),
        _ => None,
    }
}

/// The f16 build is not the f32 build with a new name: the prelude's aliases reach the
/// storage buffers (which a textual rewrite could silently miss).
#[test]
fn f16_builds_store_f16_and_f32_builds_do_not() {
    for (name, precision, module, _) in modules() {
        let halves = module
            .global_variables
            .iter()
            .filter(|(_, v)| matches!(v.space, naga::AddressSpace::Storage { .. }))
            .filter(|(_, v)| storage_scalar(&module, v.ty) == Some(naga::Scalar::F16))
            .count();
        match precision {
            Precision::F32 => assert_eq!(halves, 0, "{name}: f16 storage in the f32 build"),
            Precision::F16 => assert!(halves > 0, "{name}: the f16 build stores no f16"),
        }
    }
}

/// The weight views reach the weight binding: in the pairs view (f32 builds of the files that
/// offer it) `w` holds u64s, in the vec4 view the precision's floats; every other file, and
/// every f16 build, asked for pairs gets exactly its vec4 module.
#[test]
fn weight_views_reach_the_weight_binding() {
    let mut pairs = 0;
    for f in FILES {
        for precision in PRECISIONS {
            let vec4 = f.assemble(precision, OutputView::Scalar);
            let asked = f.assemble_with(precision, OutputView::Scalar, WeightView::Pairs);
            if f.weight_view(precision, WeightView::Pairs) == WeightView::Vec4 {
                assert_eq!(asked, vec4, "{}: {precision:?} pairs build differs", f.name);
                continue;
            }
            pairs += 1;
            assert_eq!(
                precision,
                Precision::F32,
                "{}: pairs offered in f16",
                f.name
            );
            for (src, want) in [
                (&vec4, naga::Scalar::F32),
                (
                    &asked,
                    naga::Scalar {
                        kind: naga::ScalarKind::Uint,
                        width: 8,
                    },
                ),
            ] {
                let module = parse(f.name, src);
                let w = module
                    .global_variables
                    .iter()
                    .find(|(_, v)| v.name.as_deref() == Some("w"))
                    .unwrap_or_else(|| panic!("{}: no weight binding `w`", f.name));
                assert_eq!(storage_scalar(&module, w.1.ty), Some(want), "{}", f.name);
            }
        }
    }
    assert!(
        pairs >= 2,
        "the subgroup GEMM files should offer weights in pairs"
    );
}

/// A file that exists only in u64-pairs builds is built in f32 alone, and every storage
/// binding of its module holds u64 pairs (two f32 each) but the biases and the classifier's
/// logits, which stay f32.
#[test]
fn pairs_only_files_bind_u64_pairs() {
    let u64 = naga::Scalar {
        kind: naga::ScalarKind::Uint,
        width: 8,
    };
    let mut files = 0;
    for f in FILES.iter().filter(|f| f.pairs_only) {
        files += 1;
        assert_eq!(f.precisions(), &[Precision::F32], "{}", f.name);
        for &view in f.views() {
            let src = f.assemble_with(Precision::F32, view, WeightView::Vec4);
            let module = parse(f.name, &src);
            let storage: Vec<_> = module
                .global_variables
                .iter()
                .filter(|(_, v)| matches!(v.space, naga::AddressSpace::Storage { .. }))
                .filter(|(_, v)| {
                    let f32_kept = ["bias", "b", "logits"];
                    !f32_kept.contains(&v.name.as_deref().unwrap_or(""))
                })
                .collect();
            assert!(
                storage.len() >= 2,
                "{}: {} storage bindings",
                f.name,
                storage.len()
            );
            for (_, v) in storage {
                assert_eq!(
                    storage_scalar(&module, v.ty),
                    Some(u64),
                    "{} ({view:?}): `{}` is not u64 pairs",
                    f.name,
                    v.name.as_deref().unwrap_or("?")
                );
            }
        }
    }
    assert!(
        files >= 3,
        "the 8-channel Winograd transforms and max pool should be pairs-only files"
    );
}

/// Each kernel's entry point exists, and the globals it uses are exactly the bindings of its
/// layout, in group 0, with the declared access (read-only storage, read-write storage or
/// uniform). A mismatch here would only show up as a pipeline-creation error on a device.
#[test]
fn kernel_bindings_match_their_shaders() {
    for (kernel, precision, view, weights) in Kernel::ALL
        .into_iter()
        .flat_map(|k| PRECISIONS.map(|p| (k, p)))
        .flat_map(|(k, p)| OutputView::ALL.map(|v| (k, p, v)))
        .flat_map(|(k, p, v)| WeightView::ALL.map(|w| (k, p, v, w)))
    {
        let (name, entry) = kernel.entry();
        let f = file(name).unwrap_or_else(|| panic!("{kernel:?}: shader `{name}` is not in FILES"));
        if !f.precisions().contains(&precision) {
            continue;
        }
        let src = &f.assemble_with(precision, view, weights);
        let module = parse(name, src);
        let info = validate(name, src, &module);
        let index = module
            .entry_points
            .iter()
            .position(|e| e.name == entry)
            .unwrap_or_else(|| panic!("{kernel:?}: `{name}` has no entry point `{entry}`"));
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
                "{kernel:?}: `{name}` binds a global in group {}",
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
            "{kernel:?} {precision:?} {view:?} ({name}:{entry}): bindings used by the shader (left) differ from the \
             pipeline layout (right)"
        );
    }
}

/// (size, [(field, offset)]) of a Rust struct, in declaration order.
macro_rules! rust_layout {
    ($t:ty, [$($f:ident),* $(,)?]) => {
        (
            std::mem::size_of::<$t>(),
            vec![$((stringify!($f), std::mem::offset_of!($t, $f))),*],
        )
    };
}

/// The WGSL struct `name` of `module`: (span, [(member, offset)]).
fn wgsl_layout(module: &naga::Module, name: &str) -> Option<(usize, Vec<(String, usize)>)> {
    module.types.iter().find_map(|(_, ty)| match &ty.inner {
        naga::TypeInner::Struct { members, span } if ty.name.as_deref() == Some(name) => Some((
            *span as usize,
            members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
                .collect(),
        )),
        _ => None,
    })
}

/// Every parameter struct the kernels read, in every module that declares it, has its Rust
/// struct's size and its field names and offsets in the same order.
#[test]
fn params_structs_match_their_rust_structs() {
    let rust = [
        (
            "ConvParams",
            rust_layout!(
                ConvParams,
                [
                    batch, in_h, in_w, in_c, out_h, out_w, out_c, out_c4, k_h, k_w, stride_h,
                    stride_w, pad_t, pad_l, _unused, relu, groups, dil_h, dil_w, k_splits
                ]
            ),
        ),
        (
            "WinoParams",
            rust_layout!(
                WinoParams,
                [
                    batch, in_h, in_w, in_c4, out_h, out_w, out_c, out_c4, tiles_h, tiles_w, tiles,
                    pad_t, pad_l, _unused, relu, _pad
                ]
            ),
        ),
        (
            "EltParams",
            rust_layout!(EltParams, [count, channels, relu, _pad]),
        ),
        (
            "LayoutParams",
            rust_layout!(
                LayoutParams,
                [
                    groups, in_c, in_h, in_w, out_c, out_h, out_w, stride, pad_before, _p0, _p1,
                    _p2
                ]
            ),
        ),
        (
            "LinearParams",
            rust_layout!(LinearParams, [batch, in_f, out_f, hw]),
        ),
        (
            "PoolParams",
            rust_layout!(
                PoolParams,
                [count, c, in_h, in_w, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_t, pad_l]
            ),
        ),
    ];
    let modules = modules();
    for (name, (size, fields)) in &rust {
        let mut seen = 0;
        for (module_name, _, module, _) in &modules {
            let Some((span, members)) = wgsl_layout(module, name) else {
                continue;
            };
            seen += 1;
            let members: Vec<(&str, usize)> =
                members.iter().map(|(n, o)| (n.as_str(), *o)).collect();
            assert_eq!(
                &members, fields,
                "{module_name}: WGSL `{name}` (left) and its Rust struct (right) differ in fields or offsets"
            );
            assert_eq!(
                span, *size,
                "{module_name}: WGSL `{name}` size vs Rust size_of"
            );
        }
        assert!(seen > 0, "no module declares `{name}`");
    }
    // Every struct bound as a uniform is one of the checked ones.
    for (module_name, _, module, _) in &modules {
        for (_, var) in module.global_variables.iter() {
            if var.space == naga::AddressSpace::Uniform {
                let ty = module.types[var.ty].name.as_deref().unwrap_or("?");
                assert!(
                    rust.iter().any(|(n, _)| *n == ty),
                    "{module_name}: uniform of type `{ty}` has no Rust struct check"
                );
            }
        }
    }
}

/// Whether `block` calls the function named `callee`, at any depth.
fn calls(module: &naga::Module, block: &naga::Block, callee: &str) -> bool {
    block.iter().any(|s| match s {
        naga::Statement::Call { function, .. } => {
            module.functions[*function].name.as_deref() == Some(callee)
        }
        naga::Statement::Block(b) => calls(module, b, callee),
        naga::Statement::If { accept, reject, .. } => {
            calls(module, accept, callee) || calls(module, reject, callee)
        }
        naga::Statement::Loop {
            body, continuing, ..
        } => calls(module, body, callee) || calls(module, continuing, callee),
        naga::Statement::Switch { cases, .. } => {
            cases.iter().any(|c| calls(module, &c.body, callee))
        }
        _ => false,
    })
}

/// The write step reads `p` once per invocation in `init_write` and takes the residual from
/// the pipeline constant `has_residual` (the pipelines of `Kernel::has_write_step`): an entry
/// point that stores through it without calling `init_write` would write nothing, and a kernel
/// listed there whose module lacks the constant would fail to build its pipelines. Its output
/// view decides how the output is stored: `y` holds scalars in the scalar view, vec4s of the
/// precision's floats in the vec4 view and vec4s of u64 in the pairs view, which files that
/// do not offer it (and f16 builds) narrow to vec4 (a view that did not reach the binding
/// would store too few or too many elements).
#[test]
fn write_step_kernels_init_it_and_declare_the_residual_constant() {
    for (kernel, precision, view) in Kernel::ALL
        .into_iter()
        .flat_map(|k| PRECISIONS.map(|p| (k, p)))
        .flat_map(|(k, p)| OutputView::ALL.map(|v| (k, p, v)))
    {
        let (name, entry) = kernel.entry();
        let f = file(name).unwrap();
        let src = &f.assemble(precision, view);
        let module = parse(name, src);
        let built = f.output_view(precision, view, true);
        let ep = module
            .entry_points
            .iter()
            .find(|e| e.name == entry)
            .unwrap();
        assert_eq!(
            calls(&module, &ep.function.body, "init_write"),
            kernel.has_write_step(),
            "{kernel:?} ({name}:{entry}): calls init_write (left) vs Kernel::has_write_step (right)"
        );
        if kernel.has_write_step() {
            assert!(
                module
                    .overrides
                    .iter()
                    .any(|(_, o)| o.name.as_deref() == Some("has_residual")),
                "{kernel:?}: `{name}` declares no `override has_residual`"
            );
            for var in ["y", "residual"] {
                let (_, g) = module
                    .global_variables
                    .iter()
                    .find(|(_, g)| g.name.as_deref() == Some(var))
                    .unwrap_or_else(|| panic!("{kernel:?}: `{name}` has no `{var}`"));
                let naga::TypeInner::Array { base, .. } = module.types[g.ty].inner else {
                    panic!("{kernel:?}: `{var}` of `{name}` is not an array");
                };
                let element = match module.types[base].inner {
                    naga::TypeInner::Vector {
                        size: naga::VectorSize::Quad,
                        scalar,
                    } => Some(scalar),
                    _ => None,
                };
                let float = match precision {
                    Precision::F32 => naga::Scalar::F32,
                    Precision::F16 => naga::Scalar::F16,
                };
                let want = match built {
                    OutputView::Scalar => None,
                    OutputView::Vec4 => Some(float),
                    OutputView::Pairs => Some(naga::Scalar::U64),
                };
                assert_eq!(
                    element, want,
                    "{kernel:?} {precision:?} {view:?} (built {built:?}): element of `{var}` of \
                     `{name}` (left: the vec4's scalar, None if not a vec4)"
                );
            }
        }
    }
}
