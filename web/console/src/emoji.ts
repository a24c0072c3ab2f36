// The composer's emoji: a short list of the ones customer service uses most, with their names in both
// languages for screen readers and tooltips. Written here, not fetched: the console loads nothing from
// anywhere but Parley.

export interface Emoji {
  ch: string;
  en: string;
  zh: string;
}

export const emoji: Emoji[] = [
  { ch: "😀", en: "grinning face", zh: "笑脸" },
  { ch: "😊", en: "smiling face", zh: "微笑" },
  { ch: "🙂", en: "slightly smiling face", zh: "浅笑" },
  { ch: "😂", en: "tears of joy", zh: "笑哭" },
  { ch: "😉", en: "winking face", zh: "眨眼" },
  { ch: "😍", en: "heart eyes", zh: "喜爱" },
  { ch: "🤔", en: "thinking face", zh: "思考" },
  { ch: "😅", en: "smiling with sweat", zh: "尴尬" },
  { ch: "😢", en: "crying face", zh: "流泪" },
  { ch: "😮", en: "surprised face", zh: "惊讶" },
  { ch: "🙏", en: "folded hands", zh: "拜托" },
  { ch: "👍", en: "thumbs up", zh: "赞" },
  { ch: "👎", en: "thumbs down", zh: "踩" },
  { ch: "👏", en: "clapping hands", zh: "鼓掌" },
  { ch: "👋", en: "waving hand", zh: "挥手" },
  { ch: "🤝", en: "handshake", zh: "握手" },
  { ch: "💪", en: "flexed biceps", zh: "加油" },
  { ch: "🎉", en: "party popper", zh: "庆祝" },
  { ch: "❤️", en: "red heart", zh: "爱心" },
  { ch: "✅", en: "check mark", zh: "完成" },
  { ch: "❌", en: "cross mark", zh: "错误" },
  { ch: "⭐", en: "star", zh: "星星" },
  { ch: "🔥", en: "fire", zh: "火" },
  { ch: "💡", en: "light bulb", zh: "提示" },
  { ch: "📦", en: "package", zh: "包裹" },
  { ch: "🚚", en: "delivery truck", zh: "配送" },
  { ch: "💰", en: "money bag", zh: "钱袋" },
  { ch: "📞", en: "telephone", zh: "电话" },
  { ch: "📧", en: "e-mail", zh: "邮件" },
  { ch: "⏰", en: "alarm clock", zh: "闹钟" },
  { ch: "🌹", en: "rose", zh: "玫瑰" },
  { ch: "☕", en: "hot beverage", zh: "咖啡" },
];

/** COLUMNS is the picker's grid width: arrow up and down move by this many. */
export const COLUMNS = 8;
