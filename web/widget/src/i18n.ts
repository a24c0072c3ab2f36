// The widget's two languages. Chinese is chosen for any zh* browser language unless the site forces one;
// everything the customer reads comes from here, so a new string needs both versions.

export type Lang = "en" | "zh";

export interface Strings {
  title: string;
  launcher: string;
  close: string;
  greeting: string;
  placeholder: string;
  send: string;
  attach: string;
  transcript: string;
  menu: string;
  sending: string;
  sent: string;
  read: string;
  failed: string;
  retry: string;
  remove: string;
  typing(name: string): string;
  agent: string;
  you: string;
  system: string;
  offline: string;
  connecting: string;
  closedBy(name: string): string;
  closedByYou: string;
  closed: string;
  rateTitle: string;
  rateComment: string;
  rateSend: string;
  rateThanks: string;
  star(n: number): string;
  newChat: string;
  prechatTitle: string;
  prechatIntro: string;
  name: string;
  email: string;
  phone: string;
  department: string;
  start: string;
  optional: string;
  loadEarlier: string;
  unavailable: string;
  tryAgain: string;
  uploading(name: string): string;
  uploadFailed(why: string): string;
  waiting: string;
  queued(position: number, minutes: number): string;
  assigned(name: string): string;
  transferred(name: string): string;
  reopened: string;
  leaveMessage: string;
  unread(n: number): string;
  download(name: string, size: string): string;
  requiredField: string;
  badEmail: string;
  badPhone: string;
  newConversation: string;
}

const en: Strings = {
  title: "Chat with us",
  launcher: "Chat with us",
  close: "Close chat",
  greeting: "Hi! How can we help you today?",
  placeholder: "Type your message…",
  send: "Send",
  attach: "Attach a file",
  transcript: "Download transcript",
  menu: "More options",
  sending: "Sending…",
  sent: "Sent",
  read: "Read",
  failed: "Not sent",
  retry: "Retry",
  remove: "Delete",
  typing: (n) => `${n || "Agent"} is typing…`,
  agent: "Agent",
  you: "You",
  system: "System",
  offline: "You are offline. Your messages will be sent when the connection returns.",
  connecting: "Connecting…",
  closedBy: (n) => (n ? `${n} closed the conversation` : "The conversation was closed"),
  closedByYou: "You closed the conversation",
  closed: "The conversation was closed",
  rateTitle: "How was your conversation?",
  rateComment: "Anything you would like to add? (optional)",
  rateSend: "Send rating",
  rateThanks: "Thank you for your feedback!",
  star: (n) => (n === 1 ? "1 star" : `${n} stars`),
  newChat: "Start a new conversation",
  prechatTitle: "Before we start",
  prechatIntro: "Please tell us a little about yourself.",
  name: "Name",
  email: "E-mail",
  phone: "Phone",
  department: "Department",
  start: "Start chat",
  optional: " (optional)",
  loadEarlier: "Load earlier messages",
  unavailable: "The chat is not available right now.",
  tryAgain: "Try again",
  uploading: (n) => `Uploading ${n}…`,
  uploadFailed: (why) => `Upload failed: ${why}`,
  waiting: "Waiting for an agent…",
  queued: (p, m) => `You are number ${p} in the queue` + (m > 0 ? ` (about ${m} min)` : ""),
  assigned: (n) => `${n} joined the conversation`,
  transferred: (n) => `You were transferred to ${n}`,
  reopened: "The conversation was reopened",
  leaveMessage: "Nobody is available right now. Leave a message and we will get back to you.",
  unread: (n) => (n === 1 ? "1 new message" : `${n} new messages`),
  download: (n, s) => `Download ${n} (${s})`,
  requiredField: "This field is required",
  badEmail: "Please enter a valid e-mail address",
  badPhone: "Please enter a valid phone number",
  newConversation: "New conversation",
};

const zh: Strings = {
  title: "在线客服",
  launcher: "在线客服",
  close: "关闭聊天",
  greeting: "您好！请问有什么可以帮您？",
  placeholder: "请输入消息…",
  send: "发送",
  attach: "发送文件",
  transcript: "下载聊天记录",
  menu: "更多选项",
  sending: "发送中…",
  sent: "已发送",
  read: "已读",
  failed: "发送失败",
  retry: "重试",
  remove: "删除",
  typing: (n) => (n ? `${n} 正在输入…` : "客服正在输入…"),
  agent: "客服",
  you: "我",
  system: "系统",
  offline: "网络已断开，恢复连接后将自动发送您的消息。",
  connecting: "正在连接…",
  closedBy: (n) => (n ? `${n} 结束了对话` : "对话已结束"),
  closedByYou: "您结束了对话",
  closed: "对话已结束",
  rateTitle: "请为本次服务评分",
  rateComment: "还有什么想告诉我们的吗？（选填）",
  rateSend: "提交评价",
  rateThanks: "感谢您的评价！",
  star: (n) => `${n} 星`,
  newChat: "开始新的对话",
  prechatTitle: "开始咨询前",
  prechatIntro: "请留下您的信息，方便我们更好地为您服务。",
  name: "姓名",
  email: "邮箱",
  phone: "电话",
  department: "咨询部门",
  start: "开始咨询",
  optional: "（选填）",
  loadEarlier: "查看更早的消息",
  unavailable: "在线客服暂时不可用。",
  tryAgain: "重试",
  uploading: (n) => `正在上传 ${n}…`,
  uploadFailed: (why) => `上传失败：${why}`,
  waiting: "正在为您转接客服…",
  queued: (p, m) => `您正在排队，当前第 ${p} 位` + (m > 0 ? `（预计等待约 ${m} 分钟）` : ""),
  assigned: (n) => `客服 ${n} 已接入`,
  transferred: (n) => `您的对话已转接给 ${n}`,
  reopened: "对话已重新打开",
  leaveMessage: "当前暂无客服在线，请留言，我们会尽快回复您。",
  unread: (n) => `${n} 条新消息`,
  download: (n, s) => `下载 ${n}（${s}）`,
  requiredField: "此项为必填项",
  badEmail: "请输入有效的邮箱地址",
  badPhone: "请输入有效的电话号码",
  newConversation: "新的对话",
};

/** pickLang decides the language: the site's forced one, then the page's data-lang, then the browser's. */
export function pickLang(forced: string | undefined, hint: string | undefined): Lang {
  for (const v of [forced, hint, navigator.language]) {
    if (!v) continue;
    return /^zh\b/i.test(v) ? "zh" : "en";
  }
  return "en";
}

export function strings(lang: Lang): Strings {
  return lang === "zh" ? zh : en;
}

/** humanSize formats a byte count for people. */
export function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
