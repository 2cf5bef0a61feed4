module bench.example/cold150

go 1.21
