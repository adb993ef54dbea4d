//! Times single conv layers of ResNet-50 on the GPU (a development aid).
use resnet_wgpu::model::ir::{GraphBuilder, Op};
use resnet_wgpu::model::Conv2d;
use resnet_wgpu::{Engine, Model, Tensor};
use std::time::Instant;

fn main() -> resnet_wgpu::Result<()> {
    let engine = Engine::new()?;
    let batch: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    // (name, cin, cout, k, stride, pad, input size)
    let layers = [
        ("stem 7x7/2", 3, 64, 7, 2, 3, 224),
        ("l1 1x1 64->64", 64, 64, 1, 1, 0, 56),
        ("l1 3x3 64", 64, 64, 3, 1, 1, 56),
        ("l1 1x1 64->256", 64, 256, 1, 1, 0, 56),
        ("l2 3x3 128", 128, 128, 3, 1, 1, 28),
        ("l3 1x1 1024->256", 1024, 256, 1, 1, 0, 14),
        ("l3 3x3 256", 256, 256, 3, 1, 1, 14),
        ("l4 3x3 512", 512, 512, 3, 1, 1, 7),
        ("l4 1x1 512->2048", 512, 2048, 1, 1, 0, 7),
    ];
    for (name, cin, cout, k, s, p, hw) in layers {
        let conv = Conv2d::square(cin, cout, k, s, p);
        let mut g = GraphBuilder::new("bench", cin);
        let x = g.push("in", Op::InputToNhwc, vec![0], cin);
        let w: Vec<f32> = (0..conv.weight_len()).map(|i| ((i % 7) as f32 - 3.0) * 0.01).collect();
        let y = g.push(name, Op::Conv { conv, weight: w, bias: vec![0.0; cout], relu: true }, vec![x], cout);
        let model = Model::new(&engine, g.finish(y))?;
        let input = Tensor::new(vec![batch, cin, hw, hw], vec![0.5; batch * cin * hw * hw]);
        model.infer(&input)?;
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            model.infer(&input)?;
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let (oh, ow) = conv.out_hw(hw, hw).unwrap();
        let flops = 2.0 * (batch * oh * ow * conv.weight_len()) as f64;
        println!("{name:20} {:8.2} ms {:7.2} GFLOP/s", times[2] * 1e3, flops / times[2] / 1e9);
    }
    Ok(())
}
