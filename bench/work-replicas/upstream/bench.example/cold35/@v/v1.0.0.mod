module bench.example/cold35

go 1.21
