use resnet_wgpu::model::ir::{GraphBuilder, Op};
use resnet_wgpu::model::Conv2d;
use resnet_wgpu::{Engine, Model, Tensor, CpuModel};
use std::time::Instant;
fn main() -> resnet_wgpu::Result<()> {
    let engine = Engine::new()?;
    let a: Vec<usize> = std::env::args().skip(1).map(|s| s.parse().unwrap()).collect();
    let (cin, cout, k, hw) = (a[0], a[1], a[2], a[3]);
    let conv = Conv2d::square(cin, cout, k, 1, k / 2);
    let mut g = GraphBuilder::new("bench", cin);
    let x = g.push("in", Op::InputToNhwc, vec![0], cin);
    let w: Vec<f32> = (0..conv.weight_len()).map(|i| ((i % 7) as f32 - 3.0) * 0.01).collect();
    let y = g.push("c", Op::Conv { conv, weight: w, bias: vec![0.1; cout], relu: false }, vec![x], cout);
    let graph = g.finish(y);
    let model = Model::new(&engine, graph.clone())?;
    let input = Tensor::new(vec![1, cin, hw, hw], (0..cin*hw*hw).map(|i| ((i % 13) as f32) * 0.1).collect());
    let out = model.infer(&input)?;
    let r = CpuModel::new(graph).infer(&input)?;
    let err = out.data.iter().zip(&r.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let cpu = || { let s = std::fs::read_to_string("/proc/self/stat").unwrap(); let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect(); (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0 };
    let iters = 15;
    let c0 = cpu();
    let t = Instant::now();
    for _ in 0..iters { model.infer(&input)?; }
    let wall = t.elapsed().as_secs_f64() / iters as f64;
    let times = vec![0.0, 0.0, 0.0, (cpu() - c0) / iters as f64];
    eprint!("wall {:.1} ms ", wall * 1e3);
    let flops = 2.0 * (hw * hw * conv.weight_len()) as f64;
    println!("{:8.2} ms {:7.2} GFLOP/s  err {err:.2e}", times[3] * 1e3, flops / times[3] / 1e9);
    Ok(())
}
