import { Outlet } from 'react-router';
import { useIsPhone } from '../state/media';
import { Sidebar } from './Sidebar';
import { BottomNav } from './BottomNav';
import { Header } from './Header';
import { StatusBar } from './StatusBar';
import { StopBanner } from './StopBanner';
import { PagingBanner } from './PagingBanner';

/** Desktop: sidebar | header, banner, content, status bar. Phone (< 640 px): header, content,
 *  compact status line, bottom navigation. Only one navigation is rendered at a time, so each
 *  test id exists once. */
export function Layout() {
  const phone = useIsPhone();
  return (
    <div className="flex h-full min-h-0 bg-canvas text-fg">
      {!phone && <Sidebar />}
      <div className="flex min-w-0 flex-1 flex-col">
        <Header phone={phone} />
        <StopBanner />
        <PagingBanner />
        <main id="main" className="min-h-0 flex-1 overflow-y-auto">
          <Outlet />
        </main>
        <StatusBar phone={phone} />
        {phone && <BottomNav />}
      </div>
    </div>
  );
}
