// The console's words in Simplified Chinese and English, chosen by the browser's language and switchable.

export type Lang = "zh-CN" | "en";

export interface Words {
  title: string;
  other: string;
  email: string;
  password: string;
  login: string;
  logout: string;
  loginFailed: string;
  mine: string;
  queue: string;
  team: string;
  all: string;
  empty: string;
  pick: string;
  online: string;
  away: string;
  offline: string;
  accept: string;
  decline: string;
  takeIt: string;
  close: string;
  send: string;
  note: string;
  notePlaceholder: string;
  replyPlaceholder: string;
  offeredToYou: string;
  connecting: string;
  status: Record<string, string>;
  sending: string;
  internalNote: string;
  older: string;
  transfer: string;
  transferTo: string;
  agents: string;
  teams: string;
  unavailable: string;
  cancel: string;
  system: (ev: string, m: Record<string, string>) => string | undefined;
  read: string;
  newOffer: string;
  notifications: string;
  notifyHint: string;
  customer: string;
  phone: string;
  channel: string;
  page: string;
  browser: string;
  location: string;
  language: string;
  previous: string;
  none: string;
  cannedReplies: string;
  search: string;
  searchResults: string;
  noResults: string;
  admin: string;
  backToInbox: string;
  name: string;
  role: string;
  capacity: string;
  autoAccept: string;
  weight: string;
  disabled: string;
  save: string;
  saved: string;
  addAgent: string;
  addTeam: string;
  sites: string;
  greeting: string;
  color: string;
  origins: string;
  offerTimeout: string;
  maxQueue: string;
  maxWait: string;
  autoClose: string;
  requeue: string;
  siteBasics: string;
  defaultTeam: string;
  embed: string;
  widgetLook: string;
  position: string;
  positionRight: string;
  positionLeft: string;
  widgetLanguage: string;
  browserLanguage: string;
  preChat: string;
  preChatOn: string;
  profileField: Record<"name" | "email" | "phone", string>;
  required: string;
  departmentsHint: string;
  departmentName: string;
  businessHours: string;
  hoursOn: string;
  timeZone: string;
  weekdays: string[];
  opens: string;
  closes: string;
  holidays: string;
  closedMessage: string;
  routingQueue: string;
  reopenWindow: string;
  reopenNever: string;
  addSite: string;
  rename: string;
  notSaved: string;
  colon: string;
  fieldNames: Record<string, string>;
  reports: string;
  range: string;
  last7: string;
  last30: string;
  liveView: string;
  longestWait: string;
  presenceLabel: string;
  load: string;
  conversations: string;
  firstResponse: string;
  resolution: string;
  csat: string;
  perDay: string;
  perHour: string;
  csatDistribution: string;
  agentLoad: string;
  reopen: string;
  attach: string;
  allChannels: string;
  sort: string;
  byActivity: string;
  byWaiting: string;
  more: string;
  statusLabel: string;
  openStatuses: string;
  teamLabel: string;
  allTeams: string;
  channels: Record<string, string>;
  pages: string;
  shortcut: string;
  text: string;
  sharedLabel: string;
  sharedYes: string;
  personal: string;
  shareWithAll: string;
  addCanned: string;
  remove: string;
  shortcutTaken: string;
  cannedHint: string;
  cannedHintShared: string;
  emoji: string;
  roles: Record<"agent" | "supervisor" | "admin", string>;
  day: string;
  hour: string;
  score: string;
}

export const words: Record<Lang, Words> = {
  en: {
    title: "Parley console",
    other: "中文",
    email: "E-mail",
    password: "Password",
    login: "Log in",
    logout: "Log out",
    loginFailed: "Wrong e-mail or password.",
    mine: "Mine",
    queue: "Queue",
    team: "My teams",
    all: "Everyone",
    empty: "Nothing here.",
    pick: "Pick a conversation on the left.",
    online: "Online",
    away: "Away",
    offline: "Offline",
    accept: "Accept",
    decline: "Decline",
    takeIt: "Take it",
    close: "Close",
    send: "Send",
    note: "Internal note",
    notePlaceholder: "Only agents see notes",
    replyPlaceholder: "Write a reply… (Enter sends, Shift+Enter for a new line, / for canned replies)",
    offeredToYou: "Offered to you",
    connecting: "Reconnecting…",
    status: { queued: "Waiting", offered: "Offered", pending: "Left a message", assigned: "Assigned", closed: "Closed" },
    sending: "Sending…",
    internalNote: "Internal note",
    older: "Older messages",
    transfer: "Transfer",
    transferTo: "Transfer to",
    agents: "Agents",
    teams: "Teams",
    unavailable: "busy or offline",
    cancel: "Cancel",
    read: "Read",
    newOffer: "A new conversation is offered to you",
    notifications: "Alerts",
    notifyHint: "A desktop notification and a sound for offers and messages while this tab is in the background",
    customer: "Customer",
    phone: "Phone",
    channel: "Channel",
    page: "Page",
    browser: "Browser",
    location: "Location",
    language: "Language",
    previous: "Previous conversations",
    none: "None",
    cannedReplies: "Canned replies",
    search: "Search messages",
    searchResults: "Search results",
    noResults: "No message contains this.",
    admin: "Admin",
    backToInbox: "Inbox",
    name: "Name",
    role: "Role",
    capacity: "Capacity",
    autoAccept: "Auto-accept",
    weight: "Weight",
    disabled: "Disabled",
    save: "Save",
    saved: "Saved.",
    addAgent: "Add agent",
    addTeam: "Add team",
    sites: "Sites",
    greeting: "Greeting",
    color: "Colour",
    origins: "Allowed origins (one per line)",
    offerTimeout: "Offer timeout (s)",
    maxQueue: "Max queue length (0 = none)",
    maxWait: "Max wait (s, 0 = none)",
    autoClose: "Auto-close after (s, 0 = never)",
    requeue: "Requeue when the agent goes offline",
    siteBasics: "Site",
    defaultTeam: "Team that answers",
    embed: "Embed code (paste before </body>)",
    widgetLook: "Widget",
    position: "Position",
    positionRight: "Bottom right",
    positionLeft: "Bottom left",
    widgetLanguage: "Language",
    browserLanguage: "The visitor's browser",
    preChat: "Pre-chat form",
    preChatOn: "Ask before the conversation starts",
    profileField: { name: "Name", email: "Email", phone: "Phone" },
    required: "required",
    departmentsHint: "Departments the customer chooses between (each routes to its team; none: the site's team).",
    departmentName: "Name shown to the customer",
    businessHours: "Business hours",
    hoursOn: "Outside these hours, ask new customers to leave a message",
    timeZone: "Time zone",
    weekdays: ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
    opens: "opens",
    closes: "closes",
    holidays: "Closed on (dates, one per line)",
    closedMessage: "Message outside business hours",
    routingQueue: "Routing and queue",
    reopenWindow: "A customer's message reopens a closed conversation within (s, 0 = one day)",
    reopenNever: "Never reopen",
    addSite: "Add site",
    rename: "Rename",
    notSaved: "Not saved",
    colon: ": ",
    fieldNames: {
      name: "Name", email: "Email", password: "Password", role: "Role", capacity: "Capacity", weight: "Weight", teams: "Teams",
      color: "Colour", greeting: "Greeting", position: "Position", language: "Language", allowed_origins: "Allowed origins",
      default_team_id: "Team that answers", pre_chat: "Pre-chat form", time_zone: "Time zone", business_hours: "Business hours",
      holidays: "Holidays", routing: "Routing and queue", offer_timeout_s: "Offer timeout", reopen_window_s: "Reopen window",
      shortcut: "Shortcut", body: "Text",
    },
    reports: "Reports",
    range: "Range",
    last7: "Last 7 days",
    last30: "Last 30 days",
    liveView: "Now",
    longestWait: "Longest wait",
    presenceLabel: "Presence",
    load: "Load",
    conversations: "Conversations",
    firstResponse: "First response (median / p90)",
    resolution: "Resolution (median / p90)",
    csat: "CSAT",
    perDay: "Conversations per day",
    perHour: "Conversations by hour of day",
    csatDistribution: "Ratings",
    agentLoad: "Conversations assigned per agent",
    reopen: "Reopen",
    attach: "Attach a file",
    allChannels: "All channels",
    sort: "Sort",
    byActivity: "Latest activity",
    byWaiting: "Waiting longest",
    more: "More conversations",
    statusLabel: "Status",
    openStatuses: "Open",
    teamLabel: "Team",
    allTeams: "All teams",
    channels: { web: "Web", app: "App", wechat: "WeChat" },
    pages: "Pages",
    shortcut: "Shortcut",
    text: "Text",
    sharedLabel: "Shared",
    sharedYes: "Shared with everyone",
    personal: "Mine",
    shareWithAll: "Share with every agent",
    addCanned: "Add reply",
    remove: "Delete",
    shortcutTaken: "That shortcut is in use already.",
    cannedHint: "Type / and the shortcut in the composer to insert a reply. Shared replies are managed by supervisors and admins.",
    cannedHintShared: "Type / and the shortcut in the composer to insert a reply. Shared replies are offered to every agent.",
    emoji: "Emoji",
    roles: { agent: "Agent", supervisor: "Supervisor", admin: "Admin" },
    day: "Day",
    hour: "Hour",
    score: "Rating",
    system: (ev, m) =>
      ({
        assigned: `${m["name"] ?? ""} joined the conversation`,
        transferred: `${m["by"] ?? ""} transferred the conversation to ${m["name"] ?? ""}`,
        closed: m["reason"] === "inactive" ? "Closed after inactivity" : `Conversation closed${m["name"] ? " by " + m["name"] : ""}`,
        reopened: "The customer wrote again: conversation reopened",
        requeued: "The agent went offline: back in the queue",
        leave_message: m["reason"] === "out_of_hours" ? "Out of hours: the customer was asked to leave a message" : "Nobody was available: the customer was asked to leave a message",
      })[ev],
  },
  "zh-CN": {
    title: "Parley 客服控制台",
    other: "English",
    email: "邮箱",
    password: "密码",
    login: "登录",
    logout: "退出",
    loginFailed: "邮箱或密码错误。",
    mine: "我的",
    queue: "排队中",
    team: "我的团队",
    all: "全部",
    empty: "暂无会话。",
    pick: "请在左侧选择一个会话。",
    online: "在线",
    away: "离开",
    offline: "离线",
    accept: "接受",
    decline: "拒绝",
    takeIt: "接入",
    close: "结束",
    send: "发送",
    note: "内部备注",
    notePlaceholder: "备注仅客服可见",
    replyPlaceholder: "输入回复…（Enter 发送，Shift+Enter 换行，/ 快捷回复）",
    offeredToYou: "待您接受",
    connecting: "正在重新连接…",
    status: { queued: "排队中", offered: "待接受", pending: "留言", assigned: "已接入", closed: "已结束" },
    sending: "发送中…",
    internalNote: "内部备注",
    older: "更早的消息",
    transfer: "转接",
    transferTo: "转接给",
    agents: "客服",
    teams: "团队",
    unavailable: "忙碌或离线",
    cancel: "取消",
    read: "已读",
    newOffer: "有新的会话待您接受",
    notifications: "提醒",
    notifyHint: "页面在后台时，新会话和新消息以桌面通知和提示音提醒",
    customer: "客户",
    phone: "电话",
    channel: "渠道",
    page: "所在页面",
    browser: "浏览器",
    location: "位置",
    language: "语言",
    previous: "历史会话",
    none: "无",
    cannedReplies: "快捷回复",
    search: "搜索消息",
    searchResults: "搜索结果",
    noResults: "没有包含该内容的消息。",
    admin: "管理",
    backToInbox: "会话",
    name: "名称",
    role: "角色",
    capacity: "接待上限",
    autoAccept: "自动接入",
    weight: "权重",
    disabled: "停用",
    save: "保存",
    saved: "已保存。",
    addAgent: "添加客服",
    addTeam: "添加团队",
    sites: "站点",
    greeting: "欢迎语",
    color: "主题色",
    origins: "允许的来源（每行一个）",
    offerTimeout: "分配等待时间（秒）",
    maxQueue: "最大排队人数（0 为不限）",
    maxWait: "最长等待（秒，0 为不限）",
    autoClose: "无消息自动结束（秒，0 为从不）",
    requeue: "客服离线时会话重新排队",
    siteBasics: "站点",
    defaultTeam: "接待团队",
    embed: "嵌入代码（粘贴到 </body> 之前）",
    widgetLook: "聊天窗口",
    position: "位置",
    positionRight: "右下角",
    positionLeft: "左下角",
    widgetLanguage: "语言",
    browserLanguage: "跟随访客浏览器",
    preChat: "咨询前表单",
    preChatOn: "开始会话前先填写",
    profileField: { name: "姓名", email: "邮箱", phone: "电话" },
    required: "必填",
    departmentsHint: "客户可选择的部门（各自分配给对应团队；不选则由站点团队接待）。",
    departmentName: "客户看到的名称",
    businessHours: "工作时间",
    hoursOn: "非工作时间请新客户留言",
    timeZone: "时区",
    weekdays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
    opens: "开始",
    closes: "结束",
    holidays: "休息日（日期，每行一个）",
    closedMessage: "非工作时间提示语",
    routingQueue: "分配与排队",
    reopenWindow: "会话关闭后多久内客户留言会重新打开（秒，0 为一天）",
    reopenNever: "从不重新打开",
    addSite: "添加站点",
    rename: "重命名",
    notSaved: "未保存",
    colon: "：",
    fieldNames: {
      name: "名称", email: "邮箱", password: "密码", role: "角色", capacity: "接待上限", weight: "权重", teams: "团队",
      color: "颜色", greeting: "欢迎语", position: "位置", language: "语言", allowed_origins: "允许的来源",
      default_team_id: "接待团队", pre_chat: "咨询前表单", time_zone: "时区", business_hours: "工作时间",
      holidays: "休息日", routing: "分配与排队", offer_timeout_s: "分配等待时间", reopen_window_s: "重新打开时限",
      shortcut: "快捷词", body: "内容",
    },
    reports: "报表",
    range: "时间范围",
    last7: "最近 7 天",
    last30: "最近 30 天",
    liveView: "实时",
    longestWait: "最长等待",
    presenceLabel: "状态",
    load: "接待量",
    conversations: "会话数",
    firstResponse: "首次响应（中位数 / p90）",
    resolution: "解决时长（中位数 / p90）",
    csat: "满意度",
    perDay: "每日会话数",
    perHour: "各时段会话数",
    csatDistribution: "评分分布",
    agentLoad: "各客服分配会话数",
    reopen: "重新打开",
    attach: "发送文件",
    allChannels: "全部渠道",
    sort: "排序",
    byActivity: "最新消息",
    byWaiting: "等待最久",
    more: "更多会话",
    statusLabel: "状态",
    openStatuses: "进行中",
    teamLabel: "团队",
    allTeams: "全部团队",
    channels: { web: "网页", app: "App", wechat: "微信" },
    pages: "页面",
    shortcut: "快捷词",
    text: "内容",
    sharedLabel: "共享",
    sharedYes: "所有客服共享",
    personal: "我的",
    shareWithAll: "共享给所有客服",
    addCanned: "添加快捷回复",
    remove: "删除",
    shortcutTaken: "该快捷词已被使用。",
    cannedHint: "在输入框中输入 / 加快捷词即可插入回复。共享回复由主管和管理员维护。",
    cannedHintShared: "在输入框中输入 / 加快捷词即可插入回复。共享回复对所有客服可用。",
    emoji: "表情",
    roles: { agent: "客服", supervisor: "主管", admin: "管理员" },
    day: "日期",
    hour: "时段",
    score: "评分",
    system: (ev, m) =>
      ({
        assigned: `客服 ${m["name"] ?? ""} 已接入`,
        transferred: `${m["by"] ?? ""} 将会话转接给 ${m["name"] ?? ""}`,
        closed: m["reason"] === "inactive" ? "会话因长时间无消息自动结束" : `会话已结束${m["name"] ? "（" + m["name"] + "）" : ""}`,
        reopened: "客户再次留言，会话已重新打开",
        requeued: "客服已离线，会话重新排队",
        leave_message: m["reason"] === "out_of_hours" ? "非工作时间：已请客户留言" : "暂无客服：已请客户留言",
      })[ev],
  },
};
