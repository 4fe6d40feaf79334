//! The 64 emoji that show a short authentication string (PROTOCOL.md §8.2). Each carries an English
//! name, so the two people can also read them out to each other. Symbols avoid variation
//! selectors, and all date from Unicode 6.0, so that plain monochrome emoji fonts (the Noto Emoji
//! the desktop client bundles) draw every one of them; `egui-client/tests/glyphs.rs` checks it.

/// One entry of [`EMOJI_TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emoji {
    /// The emoji character(s).
    pub symbol: &'static str,
    /// Its name, for reading aloud.
    pub name: &'static str,
}

const fn e(symbol: &'static str, name: &'static str) -> Emoji {
    Emoji { symbol, name }
}

/// The table indexed by 6-bit values.
pub const EMOJI_TABLE: [Emoji; 64] = [
    e("🐶", "Dog"),
    e("🐱", "Cat"),
    e("🐯", "Tiger"),
    e("🐴", "Horse"),
    e("🐳", "Whale"),
    e("🐷", "Pig"),
    e("🐘", "Elephant"),
    e("🐰", "Rabbit"),
    e("🐼", "Panda"),
    e("🐓", "Rooster"),
    e("🐧", "Penguin"),
    e("🐢", "Turtle"),
    e("🐟", "Fish"),
    e("🐙", "Octopus"),
    e("🐝", "Bee"),
    e("🌷", "Flower"),
    e("🌳", "Tree"),
    e("🌵", "Cactus"),
    e("🍄", "Mushroom"),
    e("🌏", "Globe"),
    e("🌙", "Moon"),
    e("🌈", "Rainbow"),
    e("🔥", "Fire"),
    e("🍌", "Banana"),
    e("🍎", "Apple"),
    e("🍓", "Strawberry"),
    e("🌽", "Corn"),
    e("🍕", "Pizza"),
    e("🎂", "Cake"),
    e("💙", "Heart"),
    e("😀", "Smiley"),
    e("👻", "Ghost"),
    e("🎩", "Hat"),
    e("👓", "Glasses"),
    e("🔧", "Spanner"),
    e("🎅", "Santa"),
    e("👍", "Thumbs up"),
    e("🌂", "Umbrella"),
    e("⌛", "Hourglass"),
    e("⏰", "Clock"),
    e("🎁", "Gift"),
    e("💡", "Light bulb"),
    e("📕", "Book"),
    e("📝", "Memo"),
    e("📎", "Paperclip"),
    e("🌻", "Sunflower"),
    e("🔒", "Lock"),
    e("🔑", "Key"),
    e("🔨", "Hammer"),
    e("📞", "Telephone"),
    e("🏁", "Flag"),
    e("🚂", "Train"),
    e("🚲", "Bicycle"),
    e("🚁", "Helicopter"),
    e("🚀", "Rocket"),
    e("🏆", "Trophy"),
    e("⚽", "Ball"),
    e("🎸", "Guitar"),
    e("🎺", "Trumpet"),
    e("🔔", "Bell"),
    e("⚓", "Anchor"),
    e("🎧", "Headphones"),
    e("📁", "Folder"),
    e("📌", "Pin"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_and_names_are_distinct() {
        for (i, a) in EMOJI_TABLE.iter().enumerate() {
            for b in &EMOJI_TABLE[i + 1..] {
                assert_ne!(a.symbol, b.symbol);
                assert_ne!(a.name, b.name);
            }
            assert!(
                !a.symbol.contains('\u{fe0f}'),
                "{} has a variation selector",
                a.name
            );
        }
    }
}
