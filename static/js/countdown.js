// Deadlines counting down (R24): each [data-deadline] shows the time left, red once passed.
(function () {
  "use strict";
  const zh = document.documentElement.lang.startsWith("zh");
  function left(ms) {
    const late = ms < 0;
    let minutes = Math.floor(Math.abs(ms) / 60000);
    const days = Math.floor(minutes / 1440);
    minutes -= days * 1440;
    const hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    const text = zh ? `${days ? days + "天" : ""}${hours}小时${minutes}分`
                    : `${days ? days + "d " : ""}${hours}h ${minutes}m`;
    return late ? (zh ? `已超时 ${text}` : `overdue by ${text}`) : (zh ? `剩余 ${text}` : `${text} left`);
  }
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-deadline]")) {
      const ms = new Date(el.dataset.deadline).getTime() - now;
      el.textContent = left(ms);
      el.classList.toggle("late", ms < 0);
      el.closest("tr")?.classList.toggle("overdue", ms < 0);
    }
  }
  tick();
  setInterval(tick, 30000);
})();
