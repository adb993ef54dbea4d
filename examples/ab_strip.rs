//! A/B of the 32-pixel row strip and the 4 × 8 tile on ResNet-20's layer1 shape at batch 16,
//! interleaved in one process: per round, each variant's conv GPU time (`Model::profile`) and
//! its wall time for one `infer`; medians and the median of the per-round ratios.
//! `cargo run --release --example ab_strip`
use resnet_wgpu::bench::{random_tensor, single_conv_graph};
use resnet_wgpu::gpu::ConvVariant;
use resnet_wgpu::model::Conv2d;
use resnet_wgpu::{Engine, Model};
use std::time::Instant;

fn med(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let e = Engine::new().expect("adapter");
    let pairs = [(16, 32, ConvVariant::Strip16, ConvVariant::Tile16)];
    for (c, hw, a, b) in pairs {
        let g = single_conv_graph(Conv2d::square(c, c, 3, 1, 1), 1).expect("graph");
        let ma = Model::with_variant(&e, g.clone(), a).expect("load");
        let mb = Model::with_variant(&e, g, b).expect("load");
        let x = random_tensor(2, 16, c, hw, hw);
        ma.infer(&x).expect("run");
        mb.infer(&x).expect("run");
        let mut t = [vec![], vec![], vec![], vec![], vec![], vec![]];
        for _ in 0..20 {
            let pa = ma.profile(&x, 1).expect("profile").conv_work().1;
            let pb = mb.profile(&x, 1).expect("profile").conv_work().1;
            let s = Instant::now();
            ma.infer(&x).expect("run");
            let wa = s.elapsed().as_secs_f64();
            let s = Instant::now();
            mb.infer(&x).expect("run");
            let wb = s.elapsed().as_secs_f64();
            for (v, x) in t.iter_mut().zip([pa, pb, pb / pa, wa, wb, wb / wa]) {
                v.push(x);
            }
        }
        let m: Vec<f64> = t.iter_mut().map(|v| med(v)).collect();
        println!(
            "c{c} {hw}x{hw} b16: conv GPU {a:?} {:.3} ms, {b:?} {:.3} ms, ratio {:.3}; \
             infer wall {:.3} / {:.3} ms, ratio {:.3}",
            m[0] * 1e3,
            m[1] * 1e3,
            m[2],
            m[3] * 1e3,
            m[4] * 1e3,
            m[5]
        );
    }
}
