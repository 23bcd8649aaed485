//! Identifier rules: what may name a module, port, signal or instance in the emitted Verilog.

/// Verilog-2005 reserved words (IEEE 1364-2005 Annex B) plus SystemVerilog keywords that tools
/// commonly reserve even in Verilog mode, so a generated name never collides with one.
const RESERVED: &[&str] = &[
    "always",
    "and",
    "assign",
    "automatic",
    "begin",
    "buf",
    "bufif0",
    "bufif1",
    "case",
    "casex",
    "casez",
    "cell",
    "cmos",
    "config",
    "deassign",
    "default",
    "defparam",
    "design",
    "disable",
    "edge",
    "else",
    "end",
    "endcase",
    "endconfig",
    "endfunction",
    "endgenerate",
    "endmodule",
    "endprimitive",
    "endspecify",
    "endtable",
    "endtask",
    "event",
    "for",
    "force",
    "forever",
    "fork",
    "function",
    "generate",
    "genvar",
    "highz0",
    "highz1",
    "if",
    "ifnone",
    "incdir",
    "include",
    "initial",
    "inout",
    "input",
    "instance",
    "integer",
    "join",
    "large",
    "liblist",
    "library",
    "localparam",
    "macromodule",
    "medium",
    "module",
    "nand",
    "negedge",
    "nmos",
    "nor",
    "noshowcancelled",
    "not",
    "notif0",
    "notif1",
    "or",
    "output",
    "parameter",
    "pmos",
    "posedge",
    "primitive",
    "pull0",
    "pull1",
    "pulldown",
    "pullup",
    "pulsestyle_ondetect",
    "pulsestyle_onevent",
    "rcmos",
    "real",
    "realtime",
    "reg",
    "release",
    "repeat",
    "rnmos",
    "rpmos",
    "rtran",
    "rtranif0",
    "rtranif1",
    "scalared",
    "showcancelled",
    "signed",
    "small",
    "specify",
    "specparam",
    "strong0",
    "strong1",
    "supply0",
    "supply1",
    "table",
    "task",
    "time",
    "tran",
    "tranif0",
    "tranif1",
    "tri",
    "tri0",
    "tri1",
    "triand",
    "trior",
    "trireg",
    "unsigned",
    "use",
    "uwire",
    "vectored",
    "wait",
    "wand",
    "weak0",
    "weak1",
    "while",
    "wire",
    "wor",
    "xnor",
    "xor",
    "bit",
    "logic",
    "byte",
    "int",
    "shortint",
    "longint",
    "interface",
    "package",
    "class",
    "struct",
    "union",
    "enum",
    "typedef",
    "void",
    "return",
    "break",
    "continue",
    "final",
    "type",
    "string",
    "chandle",
    "program",
    "property",
    "sequence",
    "clocking",
    "const",
    "static",
];

/// Is `name` a Verilog-2005 reserved word (or a common SystemVerilog one)?
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

/// Why `name` cannot be a Verilog identifier, or `None` when it can: letters, digits and `_`,
/// not starting with a digit, not a reserved word, and not starting with `_` (kept for the
/// emitter's own names).
pub fn identifier_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("an identifier cannot be empty".into());
    };
    if !(first.is_ascii_alphabetic()) {
        return Some(format!("`{name}` must start with a letter"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Some(format!(
            "`{name}` contains `{bad}`; only letters, digits and `_` are allowed"
        ));
    }
    if is_reserved(name) {
        return Some(format!("`{name}` is a Verilog reserved word"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_reject_keywords_digits_and_punctuation() {
        assert!(identifier_problem("pe_r3_c7").is_none());
        assert!(identifier_problem("module").unwrap().contains("reserved"));
        assert!(identifier_problem("3x").unwrap().contains("letter"));
        assert!(identifier_problem("a-b").unwrap().contains("`-`"));
        assert!(identifier_problem("").is_some());
    }
}
