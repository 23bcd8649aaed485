//! The weight-stationary core's window-mode address generator: the descriptor's `window_*`
//! fields, and the walk over an input tile that gives the activation feeder the ifmap word of
//! every (K-fold, N-fold, output pixel) beat, exactly as `window::Window::address` computes it.
//!
//! Multiplies stay out of the datapath: the host writes every step in address units
//! (`window::Window::fields`), and the walk only adds. Positions and addresses wrap (the walk
//! passes through negative positions in the padding); a beat whose position is outside the tile
//! reads nothing and sends the input zero point (`window_pad`) in every lane.

use super::{Shell, FOLD_BITS};
use crate::hdl::{bits_for, clog2, pack_lanes, Expr, ModuleBuilder, Reg, Type};

use super::window::{POSITION_BITS, STEP_BITS};

/// The window fields of the descriptor, in register order: (name, bits, what it holds). The
/// regmap lists them for weight-stationary cores, and [`declare`] makes them the core's inputs.
pub fn fields(spec: &crate::config::AcceleratorSpec) -> Vec<(&'static str, u32, &'static str)> {
    let ifmap = &spec.buffers.as_ref().expect("a core has buffers").ifmap;
    let address = clog2(ifmap.run_depth());
    vec![
        (
            "window",
            1,
            "1: A is an input tile the feeder walks (im2col in hardware)",
        ),
        (
            "window_depthwise",
            1,
            "1: N-fold n reads channel block first_block + n",
        ),
        (
            "window_words",
            bits_for(ifmap.run_depth()),
            "words of the input tile",
        ),
        ("window_in_rows", POSITION_BITS, "rows of the input tile"),
        (
            "window_in_width",
            POSITION_BITS,
            "columns of the input tile",
        ),
        (
            "window_out_width",
            POSITION_BITS,
            "output columns (M is whole rows of them)",
        ),
        ("window_kernel_width", STEP_BITS, "kernel columns"),
        (
            "window_fold_blocks",
            FOLD_BITS,
            "channel blocks per tap in the K-fold order",
        ),
        (
            "window_first_block",
            FOLD_BITS,
            "depthwise: the channel block of N-fold 0",
        ),
        ("window_stride_y", STEP_BITS, "vertical stride"),
        ("window_stride_x", STEP_BITS, "horizontal stride"),
        ("window_dilation_y", STEP_BITS, "vertical dilation"),
        ("window_dilation_x", STEP_BITS, "horizontal dilation"),
        (
            "window_top",
            POSITION_BITS,
            "tile row of output row 0's top tap (two's complement)",
        ),
        (
            "window_left",
            POSITION_BITS,
            "column of output column 0's left tap (two's complement)",
        ),
        (
            "window_top_addr",
            address,
            "top x row pitch, in words (modulo the address width)",
        ),
        (
            "window_left_addr",
            address,
            "left x channel blocks, in words (modulo)",
        ),
        (
            "window_row_step",
            address,
            "vertical stride x row pitch, in words",
        ),
        (
            "window_col_step",
            address,
            "horizontal stride x channel blocks, in words",
        ),
        (
            "window_tap_row_step",
            address,
            "vertical dilation x row pitch, in words",
        ),
        (
            "window_tap_col_step",
            address,
            "horizontal dilation x channel blocks, in words",
        ),
        (
            "window_pad",
            spec.pe.act.bits,
            "the input zero point: the value of a padding tap",
        ),
    ]
}

/// Fields used only in the cycle a descriptor is accepted: the DMA's load count, and the walk's
/// first channel block (the walk keeps its own from then on).
const ACCEPT_ONLY: &[&str] = &["window_words", "window_first_block"];

/// The window fields as the core's inputs (`inputs`, for what is needed in the cycle a
/// descriptor is accepted) and latched at the accept (`latched`).
pub struct Descriptor {
    inputs: Vec<(&'static str, Expr)>,
    latched: Vec<(&'static str, Expr)>,
}

impl Descriptor {
    /// The input `name` (the value being accepted).
    pub fn input(&self, name: &str) -> Expr {
        lookup(&self.inputs, name)
    }

    /// The latched field `name`.
    pub fn field(&self, name: &str) -> Expr {
        lookup(&self.latched, name)
    }
}

fn lookup(fields: &[(&'static str, Expr)], name: &str) -> Expr {
    fields
        .iter()
        .find(|(field, _)| *field == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| panic!("no window field {name}"))
}

/// Declares the window fields as inputs of the core and latches them when `accept` is high.
pub fn declare(
    m: &mut ModuleBuilder,
    spec: &crate::config::AcceleratorSpec,
    accept: &Expr,
) -> Descriptor {
    let mut inputs = Vec::new();
    let mut latched = Vec::new();
    for (name, bits, doc) in fields(spec) {
        let input = m.input_doc(name, Type::unsigned(bits), doc);
        if !ACCEPT_ONLY.contains(&name) {
            latched.push((name, m.pipe_when(name, accept, &input)));
        }
        inputs.push((name, input));
    }
    Descriptor { inputs, latched }
}

/// What the walk gives the activation feeder.
pub struct Walk {
    /// The ifmap word of the next beat (for the registered read).
    pub address_next: Expr,
    /// The current beat's data: the word read, or the zero point in every lane in the padding.
    pub data: Expr,
}

/// The walk's state steps with each activation beat `fire`; `last_m` marks the last pixel of a
/// K-fold and `last_fold` the last K-fold of an N-fold. `read` is the registered ifmap read.
pub fn walk(
    m: &mut ModuleBuilder,
    shell: &Shell,
    window: &Descriptor,
    fire: &Expr,
    last_m: &Expr,
    last_fold: &Expr,
    read: &Expr,
) -> Walk {
    let spec = shell.spec;
    let accept = &shell.accept;
    let address = Type::unsigned(clog2(
        spec.buffers
            .as_ref()
            .expect("a core has buffers")
            .ifmap
            .run_depth(),
    ));
    let position = Type::unsigned(POSITION_BITS);
    let fold = Type::unsigned(FOLD_BITS);
    let f = |name: &str| window.field(name);
    // Modular sums: every position and address keeps its own width.
    let plus = |a: &Expr, b: &Expr| a.add(&b.resize(a.width())).truncate(a.width());

    let ox = m.reg("win_ox", position);
    let block = m.reg("win_block", fold);
    let kw = m.reg("win_kw", Type::unsigned(STEP_BITS));
    let [fold_y, fold_x, y, x] =
        ["win_fold_y", "win_fold_x", "win_y", "win_x"].map(|name| m.reg(name, position));
    let [tap_row, tap_col, row, col] =
        ["win_tap_row", "win_tap_col", "win_row", "win_col"].map(|name| m.reg(name, address));
    let first = m.reg("win_first", fold);

    // ---- the next K-fold: channel block, then kernel column, then kernel row --------------
    let block_last = m.wire(
        "win_block_last",
        &block.q().eq(&f("window_fold_blocks")
            .resize(FOLD_BITS)
            .wrapping_decrement()),
    );
    let kw_last = m.wire(
        "win_kw_last",
        &kw.q().eq(&f("window_kernel_width").wrapping_decrement()),
    );
    // After the last K-fold the walk starts over for the next N-fold.
    let restart = m.wire("win_restart", last_fold);
    let step_kw = m.wire(
        "win_step_kw",
        &restart.not().and(&block_last).and(&kw_last.not()),
    );
    let step_kh = m.wire("win_step_kh", &restart.not().and(&block_last).and(&kw_last));
    let zero_fold = Expr::zero(fold);
    let next_block = restart
        .or(&block_last)
        .select(&zero_fold, &block.q().wrapping_increment());
    let to_left = restart.or(&step_kh);
    let next_kw = step_kw.select(
        &kw.q().wrapping_increment(),
        &to_left.select(&Expr::zero(kw.q().ty()), &kw.q()),
    );
    let next_fold_x = m.wire(
        "win_next_fold_x",
        &to_left.select(
            &f("window_left"),
            &step_kw.select(&plus(&fold_x.q(), &f("window_dilation_x")), &fold_x.q()),
        ),
    );
    let next_tap_col = m.wire(
        "win_next_tap_col",
        &to_left.select(
            &f("window_left_addr"),
            &step_kw.select(&plus(&tap_col.q(), &f("window_tap_col_step")), &tap_col.q()),
        ),
    );
    let next_fold_y = m.wire(
        "win_next_fold_y",
        &restart.select(
            &f("window_top"),
            &step_kh.select(&plus(&fold_y.q(), &f("window_dilation_y")), &fold_y.q()),
        ),
    );
    let next_tap_row = m.wire(
        "win_next_tap_row",
        &restart.select(
            &f("window_top_addr"),
            &step_kh.select(&plus(&tap_row.q(), &f("window_tap_row_step")), &tap_row.q()),
        ),
    );
    // A depthwise N-fold reads the next channel block.
    let next_first = restart
        .and(&f("window_depthwise"))
        .select(&first.q().wrapping_increment(), &first.q());

    // ---- the next pixel: along the row, then down a stride ---------------------------------
    let row_end = ox.q().eq(&f("window_out_width").wrapping_decrement());
    let along = m.wire("win_along", &last_m.not().and(&row_end.not()));
    let down = m.wire("win_down", &last_m.not().and(&row_end));
    let ox_step = along.select(&ox.q().wrapping_increment(), &Expr::zero(position));
    let x_step = along.select(&plus(&x.q(), &f("window_stride_x")), &fold_x.q());
    let col_step = along.select(&plus(&col.q(), &f("window_col_step")), &tap_col.q());
    let y_step = down.select(&plus(&y.q(), &f("window_stride_y")), &y.q());
    let row_step = down.select(&plus(&row.q(), &f("window_row_step")), &row.q());

    // ---- registers: the descriptor's start at the accept, a step on each beat --------------
    let start = |name: &str| window.input(name);
    let update = |m: &mut ModuleBuilder, reg: &Reg, initial: Expr, on_beat: Expr| -> Expr {
        let next = accept.select(
            &initial.resize(reg.q().width()),
            &fire.select(&on_beat, &reg.q()),
        );
        m.next(reg, &next);
        next
    };
    let on_fold = |stepped: Expr, folded: &Expr| last_m.select(folded, &stepped);
    update(
        m,
        &ox,
        Expr::zero(position),
        on_fold(ox_step, &Expr::zero(position)),
    );
    let block_next = update(
        m,
        &block,
        Expr::zero(fold),
        last_m.select(&next_block, &block.q()),
    );
    update(
        m,
        &kw,
        Expr::zero(Type::unsigned(STEP_BITS)),
        last_m.select(&next_kw, &kw.q()),
    );
    update(
        m,
        &fold_y,
        start("window_top"),
        last_m.select(&next_fold_y, &fold_y.q()),
    );
    update(
        m,
        &fold_x,
        start("window_left"),
        last_m.select(&next_fold_x, &fold_x.q()),
    );
    update(
        m,
        &tap_row,
        start("window_top_addr"),
        last_m.select(&next_tap_row, &tap_row.q()),
    );
    update(
        m,
        &tap_col,
        start("window_left_addr"),
        last_m.select(&next_tap_col, &tap_col.q()),
    );
    let first_next = update(
        m,
        &first,
        start("window_first_block"),
        last_m.select(&next_first, &first.q()),
    );
    update(m, &y, start("window_top"), on_fold(y_step, &next_fold_y));
    update(m, &x, start("window_left"), on_fold(x_step, &next_fold_x));
    let row_next = update(
        m,
        &row,
        start("window_top_addr"),
        on_fold(row_step, &next_tap_row),
    );
    let col_next = update(
        m,
        &col,
        start("window_left_addr"),
        on_fold(col_step, &next_tap_col),
    );

    let address_next = m.wire(
        "win_address_next",
        &plus(&plus(&plus(&row_next, &col_next), &block_next), &first_next),
    );

    // ---- the beat's data: the word, or padding -----------------------------------------------
    let inside_axis = |value: &Expr, extent: Expr| value.msb().not().and(&value.lt(&extent));
    let inside = m.wire(
        "win_inside",
        &inside_axis(&y.q(), f("window_in_rows")).and(&inside_axis(&x.q(), f("window_in_width"))),
    );
    let rows = spec.pe_array.rows;
    let pad = pack_lanes(&vec![f("window_pad"); rows as usize]).resize(read.width());
    let padding = f("window").and(&inside.not());
    let data = m.wire("act_word", &padding.select(&pad, read));
    Walk { address_next, data }
}
