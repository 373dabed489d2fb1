# Stand-in for the official nginx image, for machines where no registry answers (make
# compose-test): Debian's nginx on a base image made from Debian packages, reading
# /etc/nginx/conf.d/*.conf as the official image does, in the foreground. An operator uses the
# real image (RURALFUND_PROXY_IMAGE unset in .env). Classic builder compatible.
ARG BASE_IMAGE=local/debian-py311:bookworm
FROM ${BASE_IMAGE}

RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default

EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
