module bench.example/cold208

go 1.21
