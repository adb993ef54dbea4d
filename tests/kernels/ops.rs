//! The ops other than conv: unfolded batch norm, residual add and ReLU, max pool, global
//! average pool, linear, option-A shortcut, NCHW → NHWC.

use super::{check, graph, randn};
use resnet_wgpu::model::{Op, Pool2d, ShortcutA};
use resnet_wgpu::weights::random_input;

#[test]
fn affine_batch_norm() {
    for (name, n, c, h, w, relu) in [
        ("affine 64 56 relu", 1, 64, 56, 56, true),
        ("affine 13 15 b3", 3, 13, 15, 15, false),
        ("affine 3 97x131 relu", 1, 3, 97, 131, true),
        ("affine 2048 7 b3", 3, 2048, 7, 7, false),
    ] {
        let g = graph(c, |g, x| {
            let op = Op::Affine {
                scale: randn(1, c, 1.0),
                shift: randn(2, c, 0.5),
                relu,
            };
            g.push(name, op, vec![x], c)
        });
        check(name, g, n, h, w, random_input(3, n * c * h * w));
    }
}

#[test]
fn residual_add_and_relu() {
    for (name, n, c, h, w, relu) in [
        ("add 512 7 b3 relu", 3, 512, 7, 7, true),
        ("add 13 15", 1, 13, 15, 15, false),
        ("add 3 97x131 b3 relu", 3, 3, 97, 131, true),
        ("add 64 56", 1, 64, 56, 56, false),
    ] {
        let g = graph(c, |g, x| {
            // A second operand that differs from x per channel.
            let op = Op::Affine {
                scale: randn(4, c, 1.0),
                shift: randn(5, c, 0.5),
                relu: false,
            };
            let b = g.push("other", op, vec![x], c);
            g.push(name, Op::Add { relu }, vec![x, b], c)
        });
        check(name, g, n, h, w, random_input(6, n * c * h * w));
    }
    for (name, n, c, h, w) in [
        ("relu 13 7 b3", 3, 13, 7, 7),
        ("relu 3 97x131", 1, 3, 97, 131),
    ] {
        let g = graph(c, |g, x| g.push(name, Op::Relu, vec![x], c));
        let out = check(name, g, n, h, w, random_input(8, n * c * h * w));
        assert!(out.contains(&0.0) && out.iter().any(|&v| v > 0.0), "{name}");
    }
}

/// Max pool on strictly negative inputs: a padded tap that counted as 0 would win the max at
/// every border, so agreement (and all outputs < 0) proves padding never wins.
#[test]
fn max_pool_padding_never_wins() {
    let pool = |k: [usize; 2], s: [usize; 2], pad: [usize; 4]| Pool2d {
        kernel: k,
        stride: s,
        pad,
    };
    for (name, n, c, h, w, p) in [
        (
            "maxpool 3/2 p1 64 112",
            1,
            64,
            112,
            112,
            pool([3, 3], [2, 2], [1; 4]),
        ),
        (
            "maxpool 3/2 p1 13 15 b3",
            3,
            13,
            15,
            15,
            pool([3, 3], [2, 2], [1; 4]),
        ),
        (
            "maxpool 3/2 p1 3 97x131",
            1,
            3,
            97,
            131,
            pool([3, 3], [2, 2], [1; 4]),
        ),
        (
            "maxpool 2/2 13 15 (floor)",
            3,
            13,
            15,
            15,
            pool([2, 2], [2, 2], [0; 4]),
        ),
        (
            "maxpool 3/1 p1 7",
            1,
            13,
            7,
            7,
            pool([3, 3], [1, 1], [1; 4]),
        ),
        (
            "maxpool 3x2 asym",
            3,
            3,
            15,
            7,
            pool([3, 2], [2, 1], [1, 0, 1, 1]),
        ),
        // Channels in fours but not eights (vec4 kernel), and in eights (u64 pairs where the
        // build has them) with the asymmetric window.
        (
            "maxpool 3/2 p1 12 15 b3",
            3,
            12,
            15,
            15,
            pool([3, 3], [2, 2], [1; 4]),
        ),
        (
            "maxpool 3x2 asym 24",
            3,
            24,
            15,
            7,
            pool([3, 2], [2, 1], [1, 0, 1, 1]),
        ),
    ] {
        let g = graph(c, |g, x| g.push(name, Op::MaxPool(p), vec![x], c));
        let input: Vec<f32> = random_input(9, n * c * h * w)
            .into_iter()
            .map(|v| -0.1 - v.abs())
            .collect();
        let out = check(name, g, n, h, w, input);
        assert!(out.iter().all(|&v| v < 0.0), "{name}: padding won the max");
    }
}

#[test]
fn global_avg_pool() {
    for (name, n, c, h, w) in [
        ("avgpool 2048 7 b3", 3, 2048, 7, 7),
        ("avgpool 64 8", 1, 64, 8, 8),
        ("avgpool 13 97x131", 1, 13, 97, 131),
        ("avgpool 3 15 b3", 3, 3, 15, 15),
        ("avgpool 5 1x1", 1, 5, 1, 1),
    ] {
        let g = graph(c, |g, x| g.push(name, Op::GlobalAvgPool, vec![x], c));
        // An offset makes the mean non-trivial (a dropped tap shows up).
        let input: Vec<f32> = random_input(10, n * c * h * w)
            .iter()
            .map(|v| v + 0.5)
            .collect();
        check(name, g, n, h, w, input);
    }
}

#[test]
fn linear_classifier() {
    for (name, n, in_f, out_f) in [
        ("fc 2048->1000 b3", 3, 2048, 1000),
        ("fc 512->1000", 1, 512, 1000),
        ("linear 64->10 b3", 3, 64, 10),
        ("linear 13->7", 1, 13, 7),
        ("linear 1->3", 3, 1, 3),
    ] {
        let g = graph(in_f, |g, x| {
            let op = Op::Linear {
                in_f,
                out_f,
                weight: randn(11, in_f * out_f, 1.0 / (in_f as f32).sqrt()),
                bias: randn(12, out_f, 0.1),
            };
            g.push(name, op, vec![x], out_f)
        });
        check(name, g, n, 1, 1, random_input(13, n * in_f));
    }
}

/// A global average pool read only by the classifier runs fused with it (one pass); wider
/// inputs than the fused kernel keeps in workgroup memory run as two passes.
#[test]
fn pooled_classifier() {
    for (name, n, h, w, c, out_f) in [
        ("avgpool+fc 7x7x2048->1000", 1, 7, 7, 2048, 1000),
        ("avgpool+fc 8x8x64->10 b3", 3, 8, 8, 64, 10),
        ("avgpool+fc 5x3x13->7 b3", 3, 5, 3, 13, 7),
        // Two class blocks of 256, the second partial; inputs in eights (u64 pairs where the
        // build has them), in fours only, and scalar.
        ("avgpool+fc 3x3x40->300 b2", 2, 3, 3, 40, 300),
        ("avgpool+fc 3x3x36->300 b2", 2, 3, 3, 36, 300),
        ("avgpool+fc 3x3x15->300 b2", 2, 3, 3, 15, 300),
        ("avgpool+fc 2x2x3000->5 (unfused)", 2, 2, 2, 3000, 5),
    ] {
        let g = graph(c, |g, x| {
            let pooled = g.push("avgpool", Op::GlobalAvgPool, vec![x], c);
            let op = Op::Linear {
                in_f: c,
                out_f,
                weight: randn(21, c * out_f, 1.0 / (c as f32).sqrt()),
                bias: randn(22, out_f, 0.1),
            };
            g.push(name, op, vec![pooled], out_f)
        });
        let input: Vec<f32> = random_input(23, n * c * h * w)
            .iter()
            .map(|v| v + 0.3)
            .collect();
        check(name, g, n, h, w, input);
    }
}

#[test]
fn option_a_shortcut() {
    for (name, n, h, w, s) in [
        ("shortcut A 16->32 32", 1, 32, 32, (2, 8, 16, 32)),
        ("shortcut A 32->64 16 b3", 3, 16, 16, (2, 16, 32, 64)),
        ("shortcut A 13->20 /2 15", 3, 15, 15, (2, 3, 13, 20)),
        ("shortcut A 3->7 /2 97x131", 1, 97, 131, (2, 2, 3, 7)),
        ("shortcut A 13->19 /1 7", 1, 7, 7, (1, 3, 13, 19)),
    ] {
        let (stride, pad_before, in_c, out_c) = s;
        let op = Op::ShortcutA(ShortcutA {
            stride,
            pad_before,
            in_c,
            out_c,
        });
        let g = graph(in_c, |g, x| g.push(name, op, vec![x], out_c));
        let out = check(name, g, n, h, w, random_input(14, n * in_c * h * w));
        // The padded channels are exactly zero.
        let zeros = out.chunks(out_c).all(|px| {
            px[..pad_before]
                .iter()
                .chain(&px[pad_before + in_c..])
                .all(|&v| v == 0.0)
        });
        assert!(zeros, "{name}: padded channels are not zero");
    }
}

/// NCHW → NHWC alone, checked against the index formula as well as the reference.
#[test]
fn nchw_to_nhwc() {
    for (n, c, h, w) in [
        (1, 3, 224, 224),
        (3, 13, 15, 15),
        (3, 3, 97, 131),
        (1, 5, 1, 1),
    ] {
        let name = format!("nchw->nhwc {n}x{c}x{h}x{w}");
        let g = graph(c, |_, x| x);
        let input = random_input(15, n * c * h * w);
        let out = check(&name, g, n, h, w, input.clone());
        for (i, &v) in out.iter().enumerate() {
            let (ch, pix) = (i % c, i / c);
            let (b, yx) = (pix / (h * w), pix % (h * w));
            assert_eq!(v, input[(b * c + ch) * h * w + yx], "{name}: element {i}");
        }
    }
}
