//! ELF `.symtab` symbols, when the binary was not stripped.

use object::{Object, ObjectSymbol, SymbolKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub address: u64,
    pub size: u64,
    pub is_function: bool,
}

pub(crate) fn read_symbols(data: &[u8]) -> Vec<Symbol> {
    let Ok(file) = object::File::parse(data) else {
        return Vec::new();
    };
    file.symbols()
        .filter(|s| s.is_definition() || s.kind() == SymbolKind::Text)
        .filter_map(|s| {
            Some(Symbol {
                name: s.name().ok()?.to_owned(),
                address: s.address(),
                size: s.size(),
                is_function: s.kind() == SymbolKind::Text,
            })
        })
        .collect()
}
