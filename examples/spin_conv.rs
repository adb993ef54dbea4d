//! Loops a chain of eight C → C 3×3 convs of one variant (batch 16, H × W) for a while, for an
//! external profiler: `spin_conv C HW SECONDS s16|t16|other`; prints READY PID once loaded.
use resnet_wgpu::bench::{random_tensor, single_conv_graph};
use resnet_wgpu::gpu::ConvVariant;
use resnet_wgpu::model::{ir::GraphBuilder, Conv2d, Op};
use resnet_wgpu::weights::random_input;
use resnet_wgpu::{Engine, Model};
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let c: usize = args[1].parse().unwrap();
    let hw: usize = args[2].parse().unwrap();
    let secs: f64 = args[3].parse().unwrap();
    let v = match args[4].as_str() {
        "s16" => ConvVariant::Strip16,
        "t16" => ConvVariant::Tile16,
        "s32" => ConvVariant::Strip32,
        _ => ConvVariant::Subgroup16,
    };
    let e = Engine::new().expect("adapter");
    let conv = Conv2d::square(c, c, 3, 1, 1);
    let mut b = GraphBuilder::new("convs", c);
    let mut y = b.push("input", Op::InputToNhwc, vec![0], c);
    for i in 0..8 {
        let weight: Vec<f32> = random_input(i, conv.weight_len())
            .into_iter()
            .map(|v| v * 0.08)
            .collect();
        y = b.push(
            &format!("conv{i}"),
            Op::Conv {
                conv,
                weight,
                bias: random_input(100 + i, c),
                relu: true,
            },
            vec![y],
            c,
        );
    }
    let g = b.finish(y);
    let _ = single_conv_graph;
    let m = Model::with_variant(&e, g, v).expect("load");
    let x = random_tensor(2, 16, c, hw, hw);
    m.infer(&x).unwrap();
    eprintln!("READY {}", std::process::id());
    let s = Instant::now();
    let mut n = 0;
    while s.elapsed().as_secs_f64() < secs {
        m.infer(&x).unwrap();
        n += 1;
    }
    eprintln!(
        "{n} runs, {:.3} ms each",
        s.elapsed().as_secs_f64() * 1e3 / n as f64
    );
}
