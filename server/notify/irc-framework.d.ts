// Minimal types for irc-framework 4.14 (it ships none): only what IrcNotifier and the tests use.
declare module 'irc-framework' {
  import { EventEmitter } from 'node:events';

  export interface ClientOptions {
    host: string;
    port: number;
    nick: string;
    username?: string;
    gecos?: string;
    password?: string;
    tls?: boolean;
    rejectUnauthorized?: boolean;
    auto_reconnect?: boolean;
    auto_reconnect_max_wait?: number;
    auto_reconnect_max_retries?: number;
    ping_interval?: number;
    ping_timeout?: number;
    message_max_length?: number;
    version?: string;
  }

  export interface MessageEvent {
    nick: string;
    ident: string;
    hostname: string;
    target: string;
    message: string;
    type: string;
  }

  export interface IrcUser {
    nick: string;
  }

  export class Client extends EventEmitter {
    constructor(options?: ClientOptions);
    readonly user: IrcUser;
    readonly connected: boolean;
    connect(options?: ClientOptions): void;
    quit(message?: string): void;
    join(channel: string, key?: string): void;
    say(target: string, message: string): void;
    notice(target: string, message: string): void;
    ping(message?: string): void;
    changeNick(nick: string): void;
    raw(...args: string[]): void;
  }

  const irc: { Client: typeof Client };
  export default irc;
}
