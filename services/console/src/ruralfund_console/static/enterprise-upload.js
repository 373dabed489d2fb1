// Upload progress for the enterprise's evidence forms (forms marked data-upload). Without this
// script the same forms post as plain multipart and work the same, only without the bar.
(function () {
  "use strict";
  function sizeError(form) {
    var input = form.querySelector('input[type="file"]');
    var max = input && Number(input.getAttribute("data-max-bytes"));
    if (!input || !input.files || !input.files.length || !max) return null;
    var file = input.files[0];
    return file.size > max ? "文件“" + file.name + "”超过 " + (max / 1048576) + " MB，请压缩或拆分后上传。" : null;
  }
  function send(form, event) {
    var input = form.querySelector('input[type="file"]');
    if (!input || !input.files || !input.files.length || !window.FormData || !window.XMLHttpRequest) return;
    var tooBig = sizeError(form);
    if (tooBig) { event.preventDefault(); window.alert(tooBig); return; }
    event.preventDefault();
    var box = form.querySelector(".upload-progress");
    var bar = form.querySelector("progress");
    var percent = form.querySelector(".upload-percent");
    var button = form.querySelector('button[type="submit"]');
    if (box) box.hidden = false;
    if (button) button.disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var p = Math.round((e.loaded / e.total) * 100);
      if (bar) { bar.value = p; bar.textContent = p + "%"; }
      if (percent) percent.textContent = p < 100 ? "已上传 " + p + "%" : "已上传，正在处理…";
    });
    xhr.addEventListener("load", function () {
      // a success redirects (303) to the claim's page: go there; a refusal is a page to show
      if (xhr.status < 400 && xhr.responseURL && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      if (button) button.disabled = false;
      if (percent) percent.textContent = "上传失败，请检查网络后重试。";
    });
    xhr.send(new FormData(form));
  }
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (event) { send(form, event); });
  });
})();
